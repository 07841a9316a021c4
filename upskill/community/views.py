"""Discussion board pages: a board, asking (with similar threads first), a thread with its
replies, editing one's post, and the moderators' page.

Thin: each view parses the request, calls :mod:`upskill.community.services` and renders.
Every form works without JavaScript; with htmx the similar threads appear while the title is
typed. A refused action (bad input, rate limit, spam guard, suspension, permission) shows the
page again with the reason and the matching status, never a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import services
from upskill.community.models import Flag, Thread
from upskill.core.errors import DomainError, Invalid


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


def _int(raw: str | None, what: str) -> int:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        raise Invalid(_("%s must be a whole number.") % what) from None


def _text(request: HttpRequest, name: str) -> str:
    return str(request.POST.get(name, ""))


# --------------------------------------------------------------------------- boards


def _board_page(request: HttpRequest, view: services.BoardView) -> HttpResponse:
    user = _user(request)
    return render(request, "community/board.html", {
        "view": view, "threads": services.list_threads(user, view),
        "ask_url": _ask_url(view), "moderator": services.is_moderator(user),
    })


def _ask_url(view: services.BoardView) -> str:
    if view.lesson is not None:
        return reverse("community:ask_lesson", args=[view.course.slug, view.lesson.slug])
    return reverse("community:ask_course", args=[view.course.slug])


@login_required
@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    """The learner's community: their courses' boards, peer reviews, study groups."""
    return render(request, "community/hub.html", {"hub": services.community_hub(_user(request))})


@login_required
@require_GET
def course_board(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The course's board: its own threads and those of its lessons, newest activity first."""
    return _board_page(request, services.open_board(_user(request), course_slug))


@login_required
@require_GET
def lesson_board(request: HttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    """One lesson's board."""
    return _board_page(request, services.open_board(_user(request), course_slug, lesson_slug))


# --------------------------------------------------------------------------- asking


def _ask_page(request: HttpRequest, view: services.BoardView, *, given: dict[str, str],
              error: str = "", draft: services.Draft | None = None,
              status: int = 200) -> HttpResponse:
    return render(request, "community/ask.html", {
        "view": view, "given": given, "error": error, "draft": draft,
        "kinds": Thread.Kind.choices, "ask_url": _ask_url(view),
        "similar_url": reverse("community:similar", args=[view.course.slug]),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest, course_slug: str, lesson_slug: str = "") -> HttpResponse:
    """Ask a question or start a discussion in two steps: "Preview" checks the text and
    shows similar threads first; "Post" (from the preview) publishes it."""
    user = _user(request)
    view = services.open_board(user, course_slug, lesson_slug)
    if request.method == "GET":
        return _ask_page(request, view, given={"kind": Thread.Kind.QUESTION,
                                               "title": request.GET.get("title", "")[:200]})
    given = {"kind": _text(request, "kind"), "title": _text(request, "title"),
             "body": _text(request, "body")}
    try:
        if request.POST.get("step") != "post":
            draft = services.preview_thread(user, view, kind=given["kind"],
                                            title=given["title"], body=given["body"])
            return _ask_page(request, view, given=given, draft=draft)
        thread = services.start_thread(user, view, kind=given["kind"], title=given["title"],
                                       body=given["body"])
    except DomainError as refused:
        return _ask_page(request, view, given=given, error=refused.detail,
                         status=refused.status)
    return redirect("community:thread", thread_id=thread.pk)


@login_required
@require_GET
def similar(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The similar-threads region for the title typed so far (htmx swaps it in)."""
    user = _user(request)
    view = services.open_board(user, course_slug, request.GET.get("lesson", ""))
    hits = services.similar_threads(user, view, request.GET.get("title", "")[:200])
    return render(request, "community/_similar.html", {"similar": hits,
                                                       "typed": bool(request.GET.get("title"))})


# --------------------------------------------------------------------------- a thread


def _thread_page(request: HttpRequest, thread_id: int, *, error: str = "",
                 error_post: int | None = None, reply_text: str = "",
                 status: int = 200) -> HttpResponse:
    user = _user(request)
    page = services.thread_page(user, thread_id)
    return render(request, "community/thread.html", {
        "page": page, "thread": page.thread, "error": error, "error_post": error_post,
        "reply_text": reply_text, "flag_reasons": Flag.Reason.choices,
        "handle": services.mention_handle(page.opening.author_name),
    }, status=status)


@login_required
@require_GET
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    """A thread: the opening post, the accepted answer first, then the replies."""
    return _thread_page(request, thread_id)


@login_required
@require_POST
def reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    body = _text(request, "body")
    try:
        post = services.reply(_user(request), thread_id, body)
    except DomainError as refused:
        return _thread_page(request, thread_id, error=refused.detail, reply_text=body,
                            status=refused.status)
    return redirect(f"{reverse('community:thread', args=[thread_id])}#post-{post.pk}")


def _post_action(request: HttpRequest, post_id: int, action: Callable[[], Any]) -> HttpResponse:
    """Run one action on a post; back to the thread at that post, or the thread with the
    reason next to the post when it is refused."""
    thread_id = services.thread_of_post(_user(request), post_id)
    try:
        action()
    except DomainError as refused:
        return _thread_page(request, thread_id, error=refused.detail, error_post=post_id,
                            status=refused.status)
    return redirect(f"{reverse('community:thread', args=[thread_id])}#post-{post_id}")


@login_required
@require_POST
def vote(request: HttpRequest, post_id: int) -> HttpResponse:
    user = _user(request)
    return _post_action(request, post_id, lambda: services.vote(
        user, post_id, _int(request.POST.get("value"), _("A vote"))))


@login_required
@require_POST
def accept(request: HttpRequest, post_id: int) -> HttpResponse:
    user = _user(request)
    return _post_action(request, post_id, lambda: services.accept_answer(user, post_id))


@login_required
@require_POST
def unaccept(request: HttpRequest, thread_id: int) -> HttpResponse:
    services.clear_accepted_answer(_user(request), thread_id)
    return redirect("community:thread", thread_id=thread_id)


@login_required
@require_POST
def flag(request: HttpRequest, post_id: int) -> HttpResponse:
    user = _user(request)
    response = _post_action(request, post_id, lambda: services.flag_post(
        user, post_id, _text(request, "reason"), _text(request, "note")))
    if response.status_code == 302:
        messages.success(request, _("Thank you: the moderators will look at this post."))
    return response


@login_required
@require_POST
def hide(request: HttpRequest, post_id: int) -> HttpResponse:
    user = _user(request)
    return _post_action(request, post_id, lambda: services.hide_post(
        user, post_id, _text(request, "reason")))


@login_required
@require_POST
def unhide(request: HttpRequest, post_id: int) -> HttpResponse:
    user = _user(request)
    return _post_action(request, post_id, lambda: services.unhide_post(user, post_id))


@login_required
@require_POST
def dismiss(request: HttpRequest, post_id: int) -> HttpResponse:
    services.dismiss_flags(_user(request), post_id, _text(request, "reason"))
    return redirect("community:moderation")


@login_required
@require_POST
def lock(request: HttpRequest, thread_id: int) -> HttpResponse:
    locked = request.POST.get("locked") == "1"
    try:
        services.lock_thread(_user(request), thread_id, locked=locked,
                             reason=_text(request, "reason"))
    except DomainError as refused:
        return _thread_page(request, thread_id, error=refused.detail, status=refused.status)
    return redirect("community:thread", thread_id=thread_id)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, post_id: int) -> HttpResponse:
    """Edit one's own post (and the title, for the opening post)."""
    user = _user(request)
    post = services.get_post_for_edit(user, post_id)
    given = {"body": post.body_markdown, "title": post.thread.title}
    error, status = "", 200
    if request.method == "POST":
        given = {"body": _text(request, "body"), "title": _text(request, "title")}
        try:
            services.edit_post(user, post_id, given["body"],
                               title=given["title"] if post.is_opening else None)
        except DomainError as refused:
            error, status = refused.detail, refused.status
        else:
            return redirect(f"{reverse('community:thread', args=[post.thread_id])}"
                            f"#post-{post.pk}")
    return render(request, "community/edit.html", {"post": post, "given": given,
                                                   "error": error}, status=status)


@login_required
@require_POST
def delete(request: HttpRequest, post_id: int) -> HttpResponse:
    user = _user(request)
    post = services.get_post_for_edit(user, post_id)
    board_url = services.thread_page(user, post.thread_id).board.url
    try:
        remaining = services.delete_post(user, post_id)
    except DomainError as refused:
        return _thread_page(request, post.thread_id, error=refused.detail,
                            error_post=post_id, status=refused.status)
    if remaining is None:
        return redirect(board_url)
    return redirect("community:thread", thread_id=remaining.pk)


# --------------------------------------------------------------------------- moderation


def _moderation_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    queue = services.moderation_queue(_user(request))
    return render(request, "community/moderation.html", {"queue": queue, "error": error},
                  status=status)


@login_required
@require_GET
def moderation(request: HttpRequest) -> HttpResponse:
    """Flagged posts, running suspensions and the moderation log (moderators only)."""
    return _moderation_page(request)


@login_required
@require_POST
def suspend(request: HttpRequest) -> HttpResponse:
    """Suspend a person from posting (from a flagged post or a post in a thread)."""
    try:
        suspension = services.suspend_user(
            _user(request), _int(request.POST.get("user"), _("The person")),
            days=_int(request.POST.get("days"), _("The number of days")),
            reason=_text(request, "reason"))
    except DomainError as refused:
        return _moderation_page(request, error=refused.detail, status=refused.status)
    messages.success(request, _("Suspended from posting until %s.")
                     % suspension.until.strftime("%Y-%m-%d %H:%M UTC"))
    return redirect("community:moderation")


@login_required
@require_POST
def lift(request: HttpRequest, suspension_id: int) -> HttpResponse:
    services.lift_suspension(_user(request), suspension_id, _text(request, "reason"))
    return redirect("community:moderation")


# --------------------------------------------------------------------------- study groups


def _groups_page(request: HttpRequest, *, error: str = "", given: dict[str, str] | None = None,
                 find_error: str = "", find_given: dict[str, str] | None = None,
                 status: int = 200) -> HttpResponse:
    user = _user(request)
    role = request.GET.get("role", "")
    roles, zones, own_zone = services.study_group_choices(user)
    search = services.group_search(user)
    return render(request, "community/groups.html", {
        "groups": services.list_study_groups(user, role_slug=role), "role": role,
        "roles": roles, "zones": zones, "error": error,
        "given": given or {"timezone": own_zone, "pace": str(search.default_pace)},
        "group_size": services.GROUP_SIZE, "search": search, "find_error": find_error,
        "find_given": find_given or {"role": "", "pace": str(search.default_pace)},
        "min_cohort": services.MIN_COHORT,
    }, status=status)


@login_required
@require_GET
def groups(request: HttpRequest) -> HttpResponse:
    """Study groups, those in the learner's time zone and at their pace first; find me a
    group; start one."""
    return _groups_page(request)


@login_required
@require_POST
def find_group(request: HttpRequest) -> HttpResponse:
    """ "Find me a group": placed at once in an open group, or waiting for a cohort."""
    given = {"role": _text(request, "role"), "pace": _text(request, "pace")}
    try:
        placement = services.find_study_group(
            _user(request), role_slug=given["role"],
            pace_hours_per_week=_int(given["pace"], _("The hours a week")))
    except DomainError as refused:
        return _groups_page(request, find_error=refused.detail, find_given=given,
                            status=refused.status)
    if placement.group is not None:
        messages.success(request, _("Welcome to your study group."))
        return redirect("community:group", slug=placement.group.slug)
    messages.info(request, _("You are on the waiting list; we will tell you when your group "
                             "forms."))
    return redirect("community:groups")


@login_required
@require_POST
def withdraw_group_request(request: HttpRequest) -> HttpResponse:
    services.withdraw_group_request(_user(request))
    messages.info(request, _("You are no longer waiting for a study group."))
    return redirect("community:groups")


@login_required
@require_POST
def create_group(request: HttpRequest) -> HttpResponse:
    given = {"name": _text(request, "name"), "role": _text(request, "role"),
             "timezone": _text(request, "timezone"), "pace": _text(request, "pace")}
    try:
        group = services.create_study_group(
            _user(request), name=given["name"], role_slug=given["role"],
            timezone_name=given["timezone"],
            pace_hours_per_week=_int(given["pace"], _("The pace")))
    except DomainError as refused:
        return _groups_page(request, error=refused.detail, given=given, status=refused.status)
    return redirect("community:group", slug=group.slug)


def _group_page(request: HttpRequest, slug: str, *, error: str = "",
                discussion_error: str = "", given: dict[str, str] | None = None,
                status: int = 200) -> HttpResponse:
    user = _user(request)
    view = services.study_group(user, slug)
    board = services.open_group_board(user, slug) if view.is_member else None
    return render(request, "community/group.html", {
        "view": view, "error": error, "discussion_error": discussion_error,
        "threads": services.list_threads(user, board) if board is not None else [],
        "given": given or {},
    }, status=status)


@login_required
@require_GET
def group(request: HttpRequest, slug: str) -> HttpResponse:
    """A study group: for members, its members and its own board."""
    return _group_page(request, slug)


@login_required
@require_POST
def group_discussion(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a discussion on the group's board (members only: others get 404)."""
    user = _user(request)
    board = services.open_group_board(user, slug)
    given = {"title": _text(request, "title"), "body": _text(request, "body")}
    try:
        thread = services.start_thread(user, board, kind=Thread.Kind.DISCUSSION,
                                       title=given["title"], body=given["body"])
    except DomainError as refused:
        return _group_page(request, slug, discussion_error=refused.detail, given=given,
                           status=refused.status)
    return redirect("community:thread", thread_id=thread.pk)


@login_required
@require_POST
def join_group(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    try:
        services.join_study_group(user, slug)
    except DomainError as refused:
        return _group_page(request, slug, error=refused.detail, status=refused.status)
    return redirect("community:group", slug=slug)


@login_required
@require_POST
def leave_group(request: HttpRequest, slug: str) -> HttpResponse:
    services.leave_study_group(_user(request), slug)
    return redirect("community:group", slug=slug)
