"""Public operations of the discussion boards: boards, threads, replies, votes, accepted
answers, similar questions, moderation, and routing unanswered questions to mentors.

Callers (pages, tasks, other apps) use these functions, never the models directly. Every
function that acts for someone takes the acting person (``actor``) and checks permission
itself, so a page and any future API enforce the same rules:

- Any signed-in, active person may read the boards of a course they can open (a course of
  the catalog, on the release they study) and post there, unless suspended.
- A study group's board is open to its members only: to anyone else (moderators included)
  every URL of it (board, thread, post) is NotFound. A post from it that members flag still
  reaches the moderation page, where moderators act on it (decision: reported content is the
  one exception to the group's privacy). Its questions are not routed to mentors, and
  @mentions there reach members only.
- "Find me a group" (:func:`find_study_group`) places a learner in the best open group of
  their target role at once, or keeps them in the role's waiting pool until
  :data:`MIN_COHORT` people wait, when :mod:`upskill.community.cohorts` forms the groups.
- Only the author edits or deletes a post. Nobody votes on their own post; one vote per
  person and post. Only the asker (or staff) accepts an answer, on question threads.
- Moderators are staff and mentors (decision, documented in the module and the report):
  both hide and show posts, lock and unlock threads, dismiss flags and suspend people from
  posting. Mentors suspend for at most :data:`MENTOR_MAX_SUSPENSION_DAYS` days and never
  another moderator; staff for up to :data:`MAX_SUSPENSION_DAYS`. Every moderation step is
  written to :class:`~upskill.community.models.ModerationAction`.

Errors are the domain errors of :mod:`upskill.core.errors`; a refused post says why
(rate limit: ``Throttled`` with when to try again; spam guard: ``Invalid`` with what to
change; suspension: ``PermissionDenied`` with the end date).

Post bodies are Markdown rendered once, at save time, through the shared sanitizer
(``core.markdown.render_markdown``); the stored HTML is the only form pages show.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Lower, Replace
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from upskill.accounts import services as accounts
from upskill.accounts.models import TIMEZONE_CHOICES, PlatformRole, Profile, User
from upskill.catalog import services as catalog
from upskill.catalog.models import Course, Lesson, Role
from upskill.community import cohorts
from upskill.community.models import (
    Board,
    Flag,
    ModerationAction,
    Post,
    StudyGroup,
    StudyGroupMembership,
    StudyGroupRequest,
    Suspension,
    Thread,
    Vote,
)
from upskill.community.review_content import can_open_rounds, open_round
from upskill.community.review_services import (
    ActivityLink,
    activity_page,
    assignment_page,
    create_activity,
    feedback_page,
    get_activity,
    list_activities,
    read_write_up,
    request_review,
    resolve_escalation,
    settle,
    staff_overview,
    submit_review,
    submit_training,
    submit_write_up,
    training_page,
)
from upskill.core import jobs, notifications
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied, Throttled
from upskill.core.markdown import plain_text, render_markdown
from upskill.core.models import Job
from upskill.learning import services as learning
from upskill.mentoring import services as mentoring

__all__ = [
    "COHORT_MAX_SIZE",
    "DUPLICATE_WINDOW",
    "FLAGS_TO_HIDE",
    "GROUP_SIZE",
    "MAX_BODY_CHARS",
    "MAX_SUSPENSION_DAYS",
    "MAX_TITLE_CHARS",
    "MENTOR_MAX_SUSPENSION_DAYS",
    "MIN_COHORT",
    "MIN_TITLE_CHARS",
    "NEW_ACCOUNT_AGE",
    "NEW_ACCOUNT_MAX_LINKS",
    "POSTS_PER_HOUR",
    "POSTS_PER_MINUTE",
    "ROUTE_AFTER",
    "ROUTE_JOB",
    "ActivityLink",
    "AnyBoardView",
    "BoardLink",
    "BoardView",
    "CommunityHub",
    "Draft",
    "GroupBoardView",
    "GroupSearch",
    "GroupView",
    "ModerationQueue",
    "Placement",
    "PostView",
    "SimilarThread",
    "ThreadPage",
    "ThreadSummary",
    "WaitingView",
    "accept_answer",
    "active_suspension",
    "activity_page",
    "assignment_page",
    "can_open_rounds",
    "clear_accepted_answer",
    "community_hub",
    "create_activity",
    "create_study_group",
    "delete_post",
    "dismiss_flags",
    "edit_post",
    "feedback_page",
    "find_study_group",
    "flag_post",
    "get_activity",
    "get_post_for_edit",
    "group_search",
    "hide_post",
    "is_moderator",
    "join_study_group",
    "leave_study_group",
    "lift_suspension",
    "list_activities",
    "list_study_groups",
    "list_threads",
    "lock_thread",
    "mention_handle",
    "moderation_queue",
    "open_board",
    "open_group_board",
    "open_round",
    "preview_thread",
    "read_write_up",
    "record_routing",
    "reply",
    "request_review",
    "resolve_escalation",
    "route_unanswered_question",
    "settle",
    "similar_threads",
    "staff_overview",
    "start_thread",
    "study_group",
    "study_group_choices",
    "submit_review",
    "submit_training",
    "submit_write_up",
    "suspend_user",
    "thread_of_post",
    "thread_page",
    "training_page",
    "unhide_post",
    "vote",
    "withdraw_group_request",
]

ROUTE_JOB: Final = "community.route_unanswered"
ROUTE_AFTER: Final = timedelta(days=1)
MIN_TITLE_CHARS: Final = 8
MAX_TITLE_CHARS: Final = 160
MAX_BODY_CHARS: Final = 20_000
POSTS_PER_MINUTE: Final = 3
POSTS_PER_HOUR: Final = 30
NEW_ACCOUNT_AGE: Final = timedelta(days=2)
NEW_ACCOUNT_MAX_LINKS: Final = 2
DUPLICATE_WINDOW: Final = timedelta(days=1)
FLAGS_TO_HIDE: Final = 3
MAX_SUSPENSION_DAYS: Final = 365
MENTOR_MAX_SUSPENSION_DAYS: Final = 7
MAX_MENTIONS: Final = 10
THREADS_PER_PAGE: Final = 50
SIMILAR_LIMIT: Final = 5


# --------------------------------------------------------------------------- who may do what


def is_moderator(user: User) -> bool:
    """Staff and mentors moderate the boards."""
    return bool(user.is_staff) or accounts.has_role(user, PlatformRole.MENTOR)


def _is_staff(user: User) -> bool:
    return accounts.has_role(user, PlatformRole.STAFF)


def _badge(user: User) -> str:
    if _is_staff(user):
        return Post.Badge.STAFF
    if accounts.has_role(user, PlatformRole.MENTOR):
        return Post.Badge.MENTOR
    return Post.Badge.NONE


def _require_person(actor: object) -> User:
    return accounts.person(actor)


def _require_moderator(actor: User) -> None:
    if not is_moderator(actor):
        raise PermissionDenied(_("Only moderators (mentors and staff) can do that."))


def active_suspension(user: User, *, now: datetime | None = None) -> Suspension | None:
    """The suspension that keeps ``user`` from posting now, if any (the longest running)."""
    now = now or timezone.now()
    return (Suspension.objects.filter(user=user, until__gt=now, lifted_at__isnull=True)
            .order_by("-until").first())


def _require_not_suspended(actor: User) -> None:
    suspension = active_suspension(actor)
    if suspension is not None:
        until = timezone.localtime(suspension.until).strftime("%Y-%m-%d %H:%M")
        raise PermissionDenied(
            _("You are suspended from posting until %(until)s. Reason: %(reason)s")
            % {"until": until, "reason": suspension.reason})


# --------------------------------------------------------------------------- boards


@dataclass(frozen=True)
class BoardView:
    """A board with the course (on the viewer's release) and lesson it belongs to."""

    board: Board
    course: Course
    lesson: Lesson | None

    @property
    def title(self) -> str:
        return self.lesson.title if self.lesson is not None else self.course.title

    @property
    def url(self) -> str:
        return _board_url(self.board.course_slug, self.board.lesson_slug)


def _board_url(course_slug: str, lesson_slug: str) -> str:
    if lesson_slug:
        return reverse("community:lesson_board", args=[course_slug, lesson_slug])
    return reverse("community:course_board", args=[course_slug])


def _course_for(actor: User, course_slug: str) -> Course:
    """The course as the actor may open it: their pinned release, or the current one.
    A course that is not in the catalog (any more) is NotFound."""
    return learning.course_for(actor, course_slug).course


_SLUG: Final = re.compile(r"[-a-zA-Z0-9_]{1,100}")


def open_board(actor: object, course_slug: str, lesson_slug: str = "") -> BoardView:
    """The board of a course or lesson the actor may open (made on first visit).

    NotFound for a course not in the catalog or a lesson not in the actor's release."""
    person = _require_person(actor)
    if not _SLUG.fullmatch(course_slug) or (lesson_slug and not _SLUG.fullmatch(lesson_slug)):
        raise NotFound(_("There is no such board."))
    course = _course_for(person, course_slug)
    lesson = catalog.get_lesson(course, lesson_slug, with_skills=True) if lesson_slug else None
    board, _created = Board.objects.get_or_create(course_slug=course.slug,
                                                  lesson_slug=lesson.slug if lesson else "")
    return BoardView(board=board, course=course, lesson=lesson)


@dataclass(frozen=True)
class GroupBoardView:
    """A study group's own board: open to the group's members only."""

    board: Board
    group: StudyGroup

    @property
    def title(self) -> str:
        return self.group.name

    @property
    def url(self) -> str:
        return reverse("community:group", args=[self.group.slug])


AnyBoardView = BoardView | GroupBoardView


def _is_group_member(actor: User, group_id: int) -> bool:
    return StudyGroupMembership.objects.filter(group_id=group_id, user=actor).exists()


def _check_can_see(actor: User, board: Board) -> None:
    """A course board is open to whoever can open its course (staff included: a board of a
    course that left the catalog has no page to show). A group board is open to the group's
    members only; to anybody else it does not exist (NotFound, so its existence, title and
    posts stay private, whatever URL is tried)."""
    if board.group_id is not None:
        if not _is_group_member(actor, board.group_id):
            raise NotFound(_("There is no such discussion."))
        return
    _course_for(actor, board.course_slug)


def open_group_board(actor: object, slug: str) -> GroupBoardView:
    """The board of a study group the actor belongs to (made on first visit). NotFound for
    an unknown group and for a group the actor is not a member of."""
    person = _require_person(actor)
    group = StudyGroup.objects.filter(slug=slug).first()
    if group is None or not _is_group_member(person, group.pk):
        raise NotFound(_("There is no study group %s.") % slug if group is None
                       else _("Only the group's members can read its discussions."))
    board, _created = Board.objects.get_or_create(group=group)
    return GroupBoardView(board=board, group=group)


@dataclass(frozen=True)
class ThreadSummary:
    thread: Thread
    replies: int
    answered: bool
    lesson_slug: str
    url: str


def list_threads(actor: object, view: AnyBoardView) -> list[ThreadSummary]:
    """The newest threads of a board. A course board also lists its lessons' threads."""
    person = _require_person(actor)
    _check_can_see(person, view.board)
    threads = Thread.objects.select_related("board", "author__profile")
    if isinstance(view, GroupBoardView):
        threads = threads.filter(board=view.board)
    elif view.lesson is None:
        threads = threads.filter(board__course_slug=view.board.course_slug)
    else:
        threads = threads.filter(board=view.board)
    if not is_moderator(person):
        threads = threads.exclude(Q(posts__is_opening=True, posts__hidden_at__isnull=False)
                                  & ~Q(author=person))
    threads = threads.annotate(
        reply_count=Count("posts", filter=Q(posts__is_opening=False, posts__hidden_at__isnull=True),
                          distinct=True))
    return [ThreadSummary(thread=t, replies=getattr(t, "reply_count", 0),
                          answered=t.accepted_answer_id is not None,
                          lesson_slug=t.board.lesson_slug,
                          url=reverse("community:thread", args=[t.pk]))
            for t in threads[:THREADS_PER_PAGE]]


# --------------------------------------------------------------------------- reading a thread


@dataclass(frozen=True)
class PostView:
    post: Post
    author_name: str
    shown_html: str  # the sanitized body, or "" when hidden from this viewer
    hidden_notice: bool
    mine: bool
    my_vote: int
    can_edit: bool
    can_vote: bool
    can_accept: bool
    can_flag: bool
    accepted: bool


@dataclass(frozen=True)
class ThreadPage:
    thread: Thread
    board: AnyBoardView
    opening: PostView
    replies: list[PostView]
    can_reply: bool
    moderator: bool
    suspended_until: datetime | None
    accepted: PostView | None = None
    notices: list[str] = field(default_factory=list)


def _get_thread(thread_id: int) -> Thread:
    thread = (Thread.objects.select_related("board__group", "author__profile")
              .filter(pk=thread_id).first())
    if thread is None:
        raise NotFound(_("There is no discussion %d.") % thread_id)
    return thread


def _visible_thread(actor: User, thread_id: int) -> Thread:
    thread = _get_thread(thread_id)
    _check_can_see(actor, thread.board)
    opening = thread.posts.filter(is_opening=True).first()
    if (opening is not None and opening.is_hidden and thread.author_id != actor.pk
            and not is_moderator(actor)):
        raise NotFound(_("This discussion was hidden by a moderator."))
    return thread


def _display_name(user: User) -> str:
    return accounts.display_name(user, missing=_("A learner"))


def thread_page(actor: object, thread_id: int) -> ThreadPage:
    """A thread as ``actor`` sees it: hidden posts show only to their author and moderators,
    and every action the actor may take on each post is worked out here."""
    person = _require_person(actor)
    thread = _visible_thread(person, thread_id)
    board_view = _board_view_of(person, thread.board)
    moderator = is_moderator(person)
    may_accept = (thread.kind == Thread.Kind.QUESTION
                  and (thread.author_id == person.pk or _is_staff(person)))
    posts = list(thread.posts.select_related("author__profile"))
    votes = dict(Vote.objects.filter(post__thread=thread, user=person)
                 .values_list("post_id", "value"))
    flagged = set(Flag.objects.filter(post__thread=thread, reporter=person)
                  .values_list("post_id", flat=True))
    views = []
    for post in posts:
        mine = post.author_id == person.pk
        can_see_hidden = mine or moderator
        views.append(PostView(
            post=post, author_name=_display_name(post.author),
            shown_html=post.body_html if (not post.is_hidden or can_see_hidden) else "",
            hidden_notice=post.is_hidden, mine=mine, my_vote=votes.get(post.pk, 0),
            can_edit=mine and (not thread.is_locked or moderator),
            can_vote=not mine and not post.is_hidden,
            can_accept=may_accept and not post.is_opening and not post.is_hidden,
            can_flag=not mine and post.pk not in flagged and not post.is_hidden,
            accepted=thread.accepted_answer_id == post.pk,
        ))
    opening = next(v for v in views if v.post.is_opening)
    replies = [v for v in views if not v.post.is_opening]
    suspension = active_suspension(person)
    return ThreadPage(
        thread=thread, board=board_view, opening=opening, replies=replies,
        can_reply=not thread.is_locked and suspension is None, moderator=moderator,
        suspended_until=suspension.until if suspension else None,
        accepted=next((v for v in replies if v.accepted), None),
    )


def _board_view_of(actor: User, board: Board) -> AnyBoardView:
    if board.group is not None:
        return GroupBoardView(board=board, group=board.group)
    course = _course_for(actor, board.course_slug)
    lesson = catalog.get_lesson(course, board.lesson_slug) if board.lesson_slug else None
    return BoardView(board=board, course=course, lesson=lesson)


# --------------------------------------------------------------------------- writing


_LINK = re.compile(r"(?:https?://|www\.|mailto:)", re.IGNORECASE)


def _one_line(text: str) -> str:
    """Spaces collapsed, control characters (NUL included: PostgreSQL refuses it) removed."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


def _clean_title(title: str) -> str:
    title = _one_line(title)
    if len(title) < MIN_TITLE_CHARS:
        raise Invalid(_("Please give your post a title of at least %d characters that says "
                        "what it is about.") % MIN_TITLE_CHARS)
    if len(title) > MAX_TITLE_CHARS:
        raise Invalid(_("Please keep the title under %d characters.") % MAX_TITLE_CHARS)
    return title


def _clean_body(body: str) -> str:
    body = body.replace("\r\n", "\n").replace("\x00", "").strip()
    if not body:
        raise Invalid(_("Please write something: the post is empty."))
    if len(body) > MAX_BODY_CHARS:
        raise Invalid(_("Please keep a post under %d characters.") % MAX_BODY_CHARS)
    return body


def _check_rate(actor: User, now: datetime) -> None:
    """At most POSTS_PER_MINUTE posts a minute and POSTS_PER_HOUR an hour (threads count:
    each opens with a post). Counted from stored posts, so every web process agrees."""
    for limit, window, words in ((POSTS_PER_MINUTE, timedelta(minutes=1), _("a minute")),
                                 (POSTS_PER_HOUR, timedelta(hours=1), _("an hour"))):
        recent = list(Post.objects.filter(author=actor, created_at__gt=now - window)
                      .order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(recent) >= limit:
            wait_s = max(1, math.ceil((recent[-1] + window - now).total_seconds()))
            raise Throttled(
                _("You are posting too fast: at most %(limit)d posts in %(window)s. "
                  "Try again in %(wait)d seconds.")
                % {"limit": limit, "window": words, "wait": wait_s})


def _normalized(body: str) -> str:
    return " ".join(body.lower().split())


def _check_spam(actor: User, body: str, now: datetime, *, editing: Post | None = None) -> None:
    """A new account may not post many links; nobody posts the same text twice in a day."""
    if now - actor.date_joined < NEW_ACCOUNT_AGE:
        links = len(_LINK.findall(body))
        if links > NEW_ACCOUNT_MAX_LINKS:
            raise Invalid(
                _("New accounts can include at most %(max)d links in a post during their "
                  "first %(days)d days; this post has %(n)d. Please remove some links.")
                % {"max": NEW_ACCOUNT_MAX_LINKS, "days": NEW_ACCOUNT_AGE.days, "n": links})
    text = _normalized(body)
    recent = Post.objects.filter(author=actor, created_at__gt=now - DUPLICATE_WINDOW)
    if editing is not None:
        recent = recent.exclude(pk=editing.pk)
    if any(_normalized(other) == text for other in recent.values_list("body_markdown",
                                                                        flat=True)):
        raise Invalid(_("You already posted exactly this text in the last day. If it is "
                        "the same question, add to your earlier post instead."))


def _check_can_post(actor: User, body: str, now: datetime) -> None:
    _require_not_suspended(actor)
    _check_rate(actor, now)
    _check_spam(actor, body, now)


def start_thread(actor: object, view: AnyBoardView, *, kind: str, title: str,
                 body: str) -> Thread:
    """Open a thread (a question or a discussion) on a board the actor may open (a group
    board: members only).

    Checks: not suspended, rate limit, spam guard, title and body. One transaction: the
    thread, its opening post, and for a question on a course board the deferred job that
    sends it to mentors if it is still unanswered after :data:`ROUTE_AFTER` (a group board is
    private to its members, so its questions are not routed). Mentioned people are
    notified."""
    person = _require_person(actor)
    _check_can_see(person, view.board)
    if kind not in Thread.Kind.values:
        raise Invalid(_("Choose whether this is a question or a discussion."))
    title = _clean_title(title)
    body = _clean_body(body)
    now = timezone.now()
    with transaction.atomic():
        _check_can_post(person, body, now)
        thread = Thread.objects.create(
            board=view.board, author=person, kind=kind, title=title, created_at=now,
            last_activity_at=now, search_text=_search_text(title, body))
        post = Post.objects.create(
            thread=thread, author=person, is_opening=True, body_markdown=body,
            body_html=render_markdown(body), author_badge=_badge(person), created_at=now)
        if kind == Thread.Kind.QUESTION and view.board.group_id is None:
            jobs.enqueue(ROUTE_JOB, {"thread": thread.pk}, dedupe_key=f"{ROUTE_JOB}:{thread.pk}",
                         run_after=now + ROUTE_AFTER)
        _notify_mentions(person, post, already=set())
    return thread


@dataclass(frozen=True)
class Draft:
    kind: str
    title: str
    body: str
    body_html: str
    similar: list[SimilarThread]


def preview_thread(actor: object, view: BoardView, *, kind: str, title: str,
                   body: str) -> Draft:
    """Check a thread before it is posted and show it as it will look, with the similar
    threads of the course first (so a question already answered need not be asked again).
    Writes nothing; raises ``Invalid`` like :func:`start_thread` for a bad title or body."""
    person = _require_person(actor)
    _check_can_see(person, view.board)
    if kind not in Thread.Kind.values:
        raise Invalid(_("Choose whether this is a question or a discussion."))
    title = _clean_title(title)
    body = _clean_body(body)
    return Draft(kind=kind, title=title, body=body, body_html=render_markdown(body),
                 similar=similar_threads(person, view, title))


def reply(actor: object, thread_id: int, body: str) -> Post:
    """Reply to a thread the actor may read. Refused on a locked thread. The thread's author
    is notified (unless replying to themselves), and so is every person @mentioned."""
    person = _require_person(actor)
    body = _clean_body(body)
    now = timezone.now()
    with transaction.atomic():
        thread = _visible_thread(person, thread_id)
        if thread.is_locked:
            raise Conflict(_("This discussion is locked; no new replies."))
        _check_can_post(person, body, now)
        post = Post.objects.create(
            thread=thread, author=person, body_markdown=body, body_html=render_markdown(body),
            author_badge=_badge(person), created_at=now)
        Thread.objects.filter(pk=thread.pk).update(last_activity_at=now)
        notified: set[int] = set()
        if thread.author_id != person.pk:
            notifications.notify(
                thread.author, kind="community.reply",
                subject=_("%(name)s replied to “%(title)s”")
                % {"name": _display_name(person), "title": thread.title},
                body=plain_text(body)[:500], url=_post_url(post))
            notified.add(thread.author_id)
        _notify_mentions(person, post, already=notified)
    return post


def _own_post(actor: User, post_id: int) -> Post:
    post = Post.objects.select_related("thread__board").filter(pk=post_id).first()
    if post is None:
        raise NotFound(_("There is no post %d.") % post_id)
    _visible_thread(actor, post.thread_id)
    if post.author_id != actor.pk:
        raise PermissionDenied(_("You can only change your own posts."))
    return post


def thread_of_post(actor: object, post_id: int) -> int:
    """The thread a post the actor may read belongs to (NotFound otherwise)."""
    person = _require_person(actor)
    thread_id = Post.objects.filter(pk=post_id).values_list("thread_id", flat=True).first()
    if thread_id is None:
        raise NotFound(_("There is no post %d.") % post_id)
    return _visible_thread(person, thread_id).pk


def get_post_for_edit(actor: object, post_id: int) -> Post:
    """The actor's own post, to fill the edit form. Another person's post is refused."""
    return _own_post(_require_person(actor), post_id)


def edit_post(actor: object, post_id: int, body: str, *, title: str | None = None) -> Post:
    """Change one's own post (and, for an opening post, the thread's title). Refused on a
    locked thread unless the author moderates; the spam guard applies to the new text."""
    person = _require_person(actor)
    body = _clean_body(body)
    now = timezone.now()
    with transaction.atomic():
        post = _own_post(person, post_id)
        thread = post.thread
        if thread.is_locked and not is_moderator(person):
            raise Conflict(_("This discussion is locked; posts cannot be changed."))
        _require_not_suspended(person)
        _check_spam(person, body, now, editing=post)
        post.body_markdown = body
        post.body_html = render_markdown(body)
        post.edited_at = now
        post.save(update_fields=["body_markdown", "body_html", "edited_at"])
        if post.is_opening:
            if title is not None:
                thread.title = _clean_title(title)
            thread.search_text = _search_text(thread.title, body)
            thread.save(update_fields=["title", "search_text"])
    return post


def delete_post(actor: object, post_id: int) -> Thread | None:
    """Delete one's own post. Deleting an opening post deletes the thread, which is refused
    once other people have replied (their answers stay). Returns the thread if it remains."""
    person = _require_person(actor)
    with transaction.atomic():
        post = _own_post(person, post_id)
        thread = post.thread
        if post.is_opening:
            if thread.posts.exclude(author=person).exists():
                raise Conflict(_("Others have replied, so the discussion stays; you can edit "
                                 "your post instead."))
            thread.delete()
            return None
        post.delete()
    return thread


def vote(actor: object, post_id: int, value: int) -> Post:
    """Vote a post up (1) or down (-1), or take one's vote back (0). One vote per person and
    post; never on one's own post or a hidden one. The post's score is recounted."""
    person = _require_person(actor)
    if value not in (-1, 0, 1):
        raise Invalid(_("A vote is up, down or withdrawn."))
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(pk=post_id).first()
        if post is None:
            raise NotFound(_("There is no post %d.") % post_id)
        _visible_thread(person, post.thread_id)
        if post.author_id == person.pk:
            raise PermissionDenied(_("You cannot vote on your own post."))
        if post.is_hidden:
            raise Conflict(_("This post is hidden; it cannot be voted on."))
        if value == 0:
            Vote.objects.filter(post=post, user=person).delete()
        else:
            Vote.objects.update_or_create(post=post, user=person, defaults={"value": value})
        post.score = Vote.objects.filter(post=post).aggregate(total=Sum("value"))["total"] or 0
        post.save(update_fields=["score"])
    return post


def accept_answer(actor: object, post_id: int) -> Thread:
    """Mark a reply as the accepted answer of its question. Only the asker or staff; the
    answer's author is told."""
    person = _require_person(actor)
    with transaction.atomic():
        post = Post.objects.select_related("thread", "author").filter(pk=post_id).first()
        if post is None:
            raise NotFound(_("There is no post %d.") % post_id)
        thread = _visible_thread(person, post.thread_id)
        if thread.author_id != person.pk and not _is_staff(person):
            raise PermissionDenied(_("Only the person who asked (or staff) can accept an "
                                     "answer."))
        if thread.kind != Thread.Kind.QUESTION:
            raise Invalid(_("Only questions have an accepted answer."))
        if post.is_opening:
            raise Invalid(_("Accept a reply, not the question itself."))
        if post.is_hidden:
            raise Conflict(_("A hidden post cannot be the accepted answer."))
        if thread.accepted_answer_id == post.pk:
            return thread
        thread.accepted_answer = post
        thread.save(update_fields=["accepted_answer"])
        if post.author_id != person.pk:
            notifications.notify(
                post.author, kind="community.accepted",
                subject=_("Your answer to “%s” was accepted") % thread.title,
                url=_post_url(post))
    return thread


def clear_accepted_answer(actor: object, thread_id: int) -> Thread:
    """Take back the accepted answer (the asker or staff)."""
    person = _require_person(actor)
    thread = _visible_thread(person, thread_id)
    if thread.author_id != person.pk and not _is_staff(person):
        raise PermissionDenied(_("Only the person who asked (or staff) can change the accepted "
                                 "answer."))
    Thread.objects.filter(pk=thread.pk).update(accepted_answer=None)
    thread.accepted_answer = None
    return thread


def _post_url(post: Post) -> str:
    return f"{reverse('community:thread', args=[post.thread_id])}#post-{post.pk}"


# --------------------------------------------------------------------------- @mentions


_MENTION = re.compile(r"(?<![\w@])@([\w][\w.\-]{0,79})", re.UNICODE)


def mention_handle(display_name: str) -> str:
    """How to @mention a person: their display name without spaces (``@AdaLovelace``);
    matched without regard to case."""
    return "".join(display_name.split())


def _mentioned(body: str) -> list[str]:
    handles: list[str] = []
    # Code is not prose: an ``@decorator`` in a snippet mentions nobody.
    prose = re.sub(r"```.*?```|`[^`]*`", " ", body, flags=re.DOTALL)
    for match in _MENTION.finditer(prose):
        handle = match.group(1).rstrip(".-").lower()
        if handle and handle not in handles:
            handles.append(handle)
    return handles[:MAX_MENTIONS]


def _resolve_mentions(thread: Thread, handles: Sequence[str]) -> list[User]:
    """The people the handles name. A handle that fits several people goes to those who take
    part in the thread; if still ambiguous, to nobody (better silent than wrong)."""
    if not handles:
        return []
    profiles = (Profile.objects.select_related("user")
                .annotate(handle=Lower(Replace("display_name", Value(" "), Value(""))))
                .filter(handle__in=list(handles), user__is_active=True))
    by_handle: dict[str, list[User]] = {}
    for profile in profiles:
        by_handle.setdefault(getattr(profile, "handle", ""), []).append(profile.user)
    participants = set(thread.posts.values_list("author_id", flat=True))
    people: list[User] = []
    for handle in handles:
        matches = by_handle.get(handle, [])
        if len(matches) > 1:
            matches = [user for user in matches if user.pk in participants]
        if len(matches) == 1:
            people.append(matches[0])
    return people


def _notify_mentions(actor: User, post: Post, *, already: set[int]) -> None:
    thread = post.thread
    group_id = thread.board.group_id
    for person in _resolve_mentions(thread, _mentioned(post.body_markdown)):
        if person.pk == actor.pk or person.pk in already:
            continue
        if group_id is not None and not _is_group_member(person, group_id):
            continue  # a group board is private: an outsider would be told of a page it hides
        already.add(person.pk)
        notifications.notify(
            person, kind="community.mention",
            subject=_("%(name)s mentioned you in “%(title)s”")
            % {"name": _display_name(actor), "title": thread.title},
            body=plain_text(post.body_markdown)[:500], url=_post_url(post))


# --------------------------------------------------------------------------- similar threads

_STOP_TEXT: Final = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me more
most my no nor not now of off on once only or other our out over own same she should so some
such than that the their them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours
get got use using used way please thanks thank hi hello anyone someone question help
"""
_STOP_WORDS: Final = frozenset(_STOP_TEXT.split())


def _stem(word: str) -> str:
    """A light English stemmer: enough that "joins", "joined" and "joining" meet."""
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replacement
    return word


def _terms(text: str) -> list[str]:
    words = re.findall(r"[^\W_]+", text.lower())
    return [_stem(w) for w in words if len(w) > 1 and w not in _STOP_WORDS]


def _search_text(title: str, body: str) -> str:
    terms = sorted(set(_terms(title)) | set(_terms(plain_text(body))))
    return f" {' '.join(terms)} " if terms else ""


@dataclass(frozen=True)
class SimilarThread:
    thread: Thread
    score: float
    answered: bool
    url: str


def similar_threads(actor: object, view: BoardView, text: str, *,
                    limit: int = SIMILAR_LIMIT) -> list[SimilarThread]:
    """Threads of the same course that look like ``text`` (a title being typed), best first.

    Ranking: each shared word weighs its inverse document frequency among the course's
    threads (rare words say more), a word in the candidate's title counts double, and a
    thread on the same lesson gets a small lift. A candidate must share at least a third of
    the query's weight, so one common word is not enough."""
    person = _require_person(actor)
    _check_can_see(person, view.board)
    query = list(dict.fromkeys(_terms(text)))[:12]
    if not query:
        return []
    course_threads = Thread.objects.filter(board__course_slug=view.board.course_slug)
    if not is_moderator(person):
        course_threads = course_threads.exclude(posts__is_opening=True,
                                                posts__hidden_at__isnull=False)
    any_term = Q()
    for term in query:
        any_term |= Q(search_text__contains=f" {term} ")
    candidates = list(course_threads.filter(any_term).select_related("board")
                      .order_by("-last_activity_at")[:300])
    if not candidates:
        return []
    total = course_threads.count()
    frequency = Counter(term for thread in candidates for term in query
                        if f" {term} " in thread.search_text)
    weight = {term: math.log(1 + total / frequency[term]) if frequency[term] else
              math.log(1 + total) for term in query}
    query_weight = sum(weight.values())
    ranked: list[SimilarThread] = []
    for thread in candidates:
        title_terms = set(_terms(thread.title))
        shared = [t for t in query if f" {t} " in thread.search_text]
        covered = sum(weight[t] for t in shared)
        if covered < query_weight / 3:
            continue
        score = covered + sum(weight[t] for t in shared if t in title_terms)
        if view.lesson is not None and thread.board_id == view.board.pk:
            score *= 1.1
        ranked.append(SimilarThread(thread=thread, score=round(score, 4),
                                    answered=thread.accepted_answer_id is not None,
                                    url=reverse("community:thread", args=[thread.pk])))
    ranked.sort(key=lambda hit: (-hit.score, -hit.thread.last_activity_at.timestamp()))
    return ranked[:limit]


# --------------------------------------------------------------------------- moderation


def _audit(actor: User | None, action: str, *, post: Post | None = None,
           thread: Thread | None = None, target: User | None = None, reason: str = "") -> None:
    ModerationAction.objects.create(actor=actor, action=action, post=post, thread=thread,
                                    target_user=target, reason=reason[:300])


def _reason(reason: str) -> str:
    reason = _one_line(reason)
    if not reason:
        raise Invalid(_("Please give a reason; it is kept in the moderation log."))
    if len(reason) > 300:
        raise Invalid(_("Please keep the reason under 300 characters."))
    return reason


def flag_post(actor: object, post_id: int, reason: str, note: str = "") -> Flag:
    """Report a post to the moderators (any person who can read it, once per post; not one's
    own). When :data:`FLAGS_TO_HIDE` people have flagged it, it is hidden until a moderator
    looks (written to the log with no actor)."""
    person = _require_person(actor)
    if reason not in Flag.Reason.values:
        raise Invalid(_("Choose why you are flagging this post."))
    with transaction.atomic():
        post = Post.objects.select_related("thread").filter(pk=post_id).first()
        if post is None:
            raise NotFound(_("There is no post %d.") % post_id)
        _visible_thread(person, post.thread_id)
        if post.author_id == person.pk:
            raise Invalid(_("You cannot flag your own post; edit or delete it instead."))
        try:
            with transaction.atomic():
                flag = Flag.objects.create(post=post, reporter=person, reason=reason,
                                           note=_one_line(note)[:300])
        except IntegrityError as twice:
            raise Conflict(_("You have already flagged this post; a moderator will look at "
                             "it.")) from twice
        open_flags = Flag.objects.filter(post=post, resolved_at__isnull=True).count()
        if open_flags >= FLAGS_TO_HIDE and not post.is_hidden:
            post.hidden_at = timezone.now()
            post.hidden_reason = _("Hidden after %d reports, until a moderator reviews it.") \
                % open_flags
            post.save(update_fields=["hidden_at", "hidden_reason"])
            _audit(None, ModerationAction.Action.HIDE, post=post, thread=post.thread,
                   target=post.author, reason=post.hidden_reason)
    return flag


def _moderated_post(actor: User, post_id: int) -> Post:
    _require_moderator(actor)
    post = Post.objects.select_related("thread__board", "author").filter(pk=post_id).first()
    if post is None:
        raise NotFound(_("There is no post %d.") % post_id)
    return post


@transaction.atomic
def hide_post(actor: object, post_id: int, reason: str) -> Post:
    """Hide a post from everyone but its author and the moderators (moderators only); the
    open flags on it are resolved. Logged."""
    person = _require_person(actor)
    post = _moderated_post(person, post_id)
    reason = _reason(reason)
    now = timezone.now()
    post.hidden_at = now
    post.hidden_reason = reason
    post.save(update_fields=["hidden_at", "hidden_reason"])
    if post.thread.accepted_answer_id == post.pk:
        Thread.objects.filter(pk=post.thread_id).update(accepted_answer=None)
    Flag.objects.filter(post=post, resolved_at__isnull=True).update(resolved_at=now,
                                                                   resolved_by=person)
    _audit(person, ModerationAction.Action.HIDE, post=post, thread=post.thread,
           target=post.author, reason=reason)
    return post


@transaction.atomic
def unhide_post(actor: object, post_id: int, reason: str = "") -> Post:
    """Show a hidden post again (moderators only); open flags are dismissed. Logged."""
    person = _require_person(actor)
    post = _moderated_post(person, post_id)
    if not post.is_hidden:
        raise Conflict(_("This post is not hidden."))
    now = timezone.now()
    post.hidden_at = None
    post.hidden_reason = ""
    post.save(update_fields=["hidden_at", "hidden_reason"])
    Flag.objects.filter(post=post, resolved_at__isnull=True).update(resolved_at=now,
                                                                   resolved_by=person)
    _audit(person, ModerationAction.Action.UNHIDE, post=post, thread=post.thread,
           target=post.author, reason=_one_line(reason))
    return post


@transaction.atomic
def dismiss_flags(actor: object, post_id: int, reason: str = "") -> int:
    """Resolve the open flags on a post without hiding it (moderators only). Logged."""
    person = _require_person(actor)
    post = _moderated_post(person, post_id)
    count = Flag.objects.filter(post=post, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=person)
    _audit(person, ModerationAction.Action.DISMISS_FLAGS, post=post, thread=post.thread,
           target=post.author, reason=_one_line(reason))
    return count


@transaction.atomic
def lock_thread(actor: object, thread_id: int, *, locked: bool, reason: str = "") -> Thread:
    """Lock a thread (no replies, no edits) or unlock it (moderators only). Logged."""
    person = _require_person(actor)
    _require_moderator(person)
    thread = _get_thread(thread_id)
    if locked:
        reason = _reason(reason)
    thread.locked_at = timezone.now() if locked else None
    thread.save(update_fields=["locked_at"])
    _audit(person, ModerationAction.Action.LOCK if locked else ModerationAction.Action.UNLOCK,
           thread=thread, reason=_one_line(reason))
    return thread


def suspend_user(actor: object, user_id: int, *, days: int, reason: str) -> Suspension:
    """Keep a person from posting for ``days`` days (moderators). Mentors: at most
    :data:`MENTOR_MAX_SUSPENSION_DAYS` days and never another moderator; nobody suspends
    themselves. The person is told why and until when. Logged."""
    person = _require_person(actor)
    _require_moderator(person)
    target = User.objects.filter(pk=user_id, is_active=True).first()
    if target is None:
        raise NotFound(_("There is no such person."))
    if target.pk == person.pk:
        raise Invalid(_("You cannot suspend yourself."))
    staff = _is_staff(person)
    if not staff and is_moderator(target):
        raise PermissionDenied(_("Only staff can suspend a mentor or staff member."))
    longest = MAX_SUSPENSION_DAYS if staff else MENTOR_MAX_SUSPENSION_DAYS
    if not 1 <= days <= longest:
        raise Invalid(_("A suspension lasts from 1 to %d days.") % longest)
    reason = _reason(reason)
    now = timezone.now()
    with transaction.atomic():
        suspension = Suspension.objects.create(user=target, until=now + timedelta(days=days),
                                               reason=reason, created_by=person, created_at=now)
        _audit(person, ModerationAction.Action.SUSPEND, target=target,
               reason=f"{days} days: {reason}")
        notifications.notify(
            target, kind="community.suspended",
            subject=_("You are suspended from posting on the discussion boards"),
            body=_("Until %(until)s. Reason: %(reason)s")
            % {"until": suspension.until.strftime("%Y-%m-%d %H:%M UTC"), "reason": reason})
    return suspension


@transaction.atomic
def lift_suspension(actor: object, suspension_id: int, reason: str = "") -> Suspension:
    """End a suspension early (moderators; mentors only their own). Logged."""
    person = _require_person(actor)
    _require_moderator(person)
    suspension = Suspension.objects.select_related("user").filter(pk=suspension_id).first()
    if suspension is None:
        raise NotFound(_("There is no such suspension."))
    if not _is_staff(person) and suspension.created_by_id != person.pk:
        raise PermissionDenied(_("Only staff can lift a suspension another moderator made."))
    if suspension.lifted_at is None:
        suspension.lifted_at = timezone.now()
        suspension.save(update_fields=["lifted_at"])
        _audit(person, ModerationAction.Action.LIFT, target=suspension.user,
               reason=_one_line(reason))
    return suspension


@dataclass(frozen=True)
class FlaggedPost:
    post: Post
    author_name: str
    flags: list[Flag]
    url: str


@dataclass(frozen=True)
class ModerationQueue:
    flagged: list[FlaggedPost]
    suspensions: list[Suspension]
    log: list[ModerationAction]


def moderation_queue(actor: object) -> ModerationQueue:
    """What moderators act on: posts with open flags (most flagged first), running
    suspensions, and the latest entries of the moderation log. Moderators only."""
    person = _require_person(actor)
    _require_moderator(person)
    posts = (Post.objects.filter(flags__resolved_at__isnull=True)
             .annotate(open_flags=Count("flags", filter=Q(flags__resolved_at__isnull=True)))
             .select_related("thread", "author__profile").order_by("-open_flags", "created_at")
             .distinct()[:100])
    flagged = [FlaggedPost(post=post, author_name=_display_name(post.author),
                           flags=list(post.flags.filter(resolved_at__isnull=True)
                                      .select_related("reporter__profile")),
                           url=_post_url(post)) for post in posts]
    suspensions = list(Suspension.objects.filter(until__gt=timezone.now(),
                                                 lifted_at__isnull=True)
                       .select_related("user__profile", "created_by__profile"))
    log = list(ModerationAction.objects.select_related(
        "actor__profile", "target_user__profile", "thread", "post")[:50])
    return ModerationQueue(flagged=flagged, suspensions=suspensions, log=log)


# --------------------------------------------------------------------------- routing to mentors


def _lesson_skill_slugs(board: Board) -> list[str]:
    course = catalog.current_course(board.course_slug)
    if board.lesson_slug:
        lessons: Iterable[Lesson] = [catalog.get_lesson(course, board.lesson_slug,
                                                        with_skills=True)]
    else:
        lessons = [lesson for module in catalog.course_outline(course)
                   for lesson in module.lessons.all()]
    return sorted({skill.slug for lesson in lessons for skill in lesson.skills.all()})


def _unanswered(thread: Thread) -> bool:
    if thread.kind != Thread.Kind.QUESTION or thread.is_locked:
        return False
    if thread.accepted_answer_id is not None or thread.routed_to_mentors_at is not None:
        return False
    return not thread.posts.filter(is_opening=False, hidden_at__isnull=True).exclude(
        author_id=thread.author_id).exists()


def route_unanswered_question(thread_id: int) -> dict[str, Any]:
    """The run step of :data:`ROUTE_JOB`: if the question still has no answer from anyone
    but the asker, find the mentors who know its lesson's skills (the course's, for a
    course board). Writes nothing; :func:`record_routing` notifies them once."""
    thread = Thread.objects.select_related("board").filter(pk=thread_id).first()
    if thread is None or not _unanswered(thread):
        return {"thread": thread_id, "routed": False, "mentors": [], "skills": []}
    try:
        skills = _lesson_skill_slugs(thread.board)
    except NotFound:
        return {"thread": thread_id, "routed": False, "mentors": [], "skills": [],
                "reason": "the course or lesson is no longer in the catalog"}
    mentors = [user.pk for user in mentoring.mentors_for_skills(skills)
               if user.pk != thread.author_id]
    return {"thread": thread_id, "routed": bool(mentors), "mentors": mentors, "skills": skills}


def record_routing(job: Job, result: dict[str, Any]) -> None:
    """The record step of :data:`ROUTE_JOB`, inside the job's completion transaction:
    mark the thread routed (once) and notify each mentor. A second run records nothing."""
    if not result.get("routed"):
        return
    thread_id = int(result["thread"])
    now = timezone.now()
    if not Thread.objects.filter(pk=thread_id, routed_to_mentors_at__isnull=True).update(
            routed_to_mentors_at=now):
        return
    thread = Thread.objects.get(pk=thread_id)
    url = reverse("community:thread", args=[thread_id])
    for mentor in User.objects.filter(pk__in=result["mentors"], is_active=True):
        notifications.notify(
            mentor, kind="community.unanswered",
            subject=_("A question waits for a mentor: “%s”") % thread.title,
            body=_("Nobody has answered it for a day. Skills: %s.")
            % ", ".join(result.get("skills", [])), url=url)


# --------------------------------------------------------------------------- study groups

GROUP_SIZE: Final = 12
MAX_PACE_HOURS: Final = 40
MIN_COHORT: Final = 3  # a waiting pool of a role forms groups from this many people
COHORT_MAX_SIZE: Final = 6  # groups formed for people, and places offered in open ones
_TIMEZONES: Final = frozenset(name for name, _label in TIMEZONE_CHOICES)
_RESERVED_GROUP_SLUGS: Final = frozenset({"new", "find"})  # pages under /community/groups/


@dataclass(frozen=True)
class GroupView:
    group: StudyGroup
    member_count: int
    is_member: bool
    members: list[str]  # display names, shown to members only
    same_timezone: bool

    @property
    def is_full(self) -> bool:
        return self.member_count >= GROUP_SIZE


def _own_timezone(actor: User) -> str:
    return accounts.get_profile(actor, actor).timezone


def _members_first_joined() -> Prefetch[str, QuerySet[StudyGroupMembership], str]:
    """A group list's members in one query, in the order they joined."""
    return Prefetch("memberships", queryset=StudyGroupMembership.objects
                    .select_related("user__profile").order_by("joined_at", "pk"))


def _group_view(actor: User, group: StudyGroup, zone: str) -> GroupView:
    # group.memberships is prefetched by lists (_members_first_joined); for one group it is
    # one query either way.
    memberships = sorted(group.memberships.all(), key=lambda m: (m.joined_at, m.pk))
    is_member = any(m.user_id == actor.pk for m in memberships)
    return GroupView(
        group=group, member_count=len(memberships), is_member=is_member,
        members=[_display_name(m.user) for m in memberships] if is_member else [],
        same_timezone=group.timezone == zone)


def list_study_groups(actor: object, *, role_slug: str = "") -> list[GroupView]:
    """Study groups (optionally for one target role), those in the actor's time zone first,
    then by how close their pace is to the actor's weekly learning time. Member names are
    shown to members only."""
    person = _require_person(actor)
    profile = accounts.get_profile(person, person)
    groups = StudyGroup.objects.select_related("target_role").prefetch_related(
        _members_first_joined())
    if role_slug:
        groups = groups.filter(target_role__slug=role_slug)
    hours = profile.weekly_learning_minutes / 60
    views = [_group_view(person, group, profile.timezone) for group in groups[:200]]
    views.sort(key=lambda v: (not v.same_timezone, abs(v.group.pace_hours_per_week - hours),
                              v.group.name.lower()))
    return views


def study_group_choices(actor: object) -> tuple[list[tuple[str, str]], list[tuple[str, str]],
                                                 str]:
    """What the form to start a group offers: target roles, time zones, and the actor's zone."""
    person = _require_person(actor)
    roles = [(role.slug, role.title) for role in catalog.list_roles()]
    return roles, list(TIMEZONE_CHOICES), _own_timezone(person)


def study_group(actor: object, slug: str) -> GroupView:
    """One study group as the actor sees it (NotFound for an unknown slug)."""
    person = _require_person(actor)
    group = StudyGroup.objects.select_related("target_role").filter(slug=slug).first()
    if group is None:
        raise NotFound(_("There is no study group %s.") % slug)
    return _group_view(person, group, _own_timezone(person))


def _check_pace(pace_hours_per_week: int) -> None:
    if not 1 <= pace_hours_per_week <= MAX_PACE_HOURS:
        raise Invalid(_("The pace is from 1 to %d hours a week.") % MAX_PACE_HOURS)


def _unique_group_slug(name: str) -> str:
    """A slug for a new group: the name's, with -2, -3 ... when taken (call in a
    transaction; the unique column refuses a race)."""
    base = slugify(name)[:60] or "group"
    if base in _RESERVED_GROUP_SLUGS:
        base = f"{base}-group"
    slug, n = base, 1
    while StudyGroup.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_study_group(actor: object, *, name: str, role_slug: str = "", timezone_name: str,
                       pace_hours_per_week: int) -> StudyGroup:
    """Start a study group; its creator is its first member. Validates the name, role, time
    zone and pace (1 to 40 hours a week); one transaction."""
    person = _require_person(actor)
    _require_not_suspended(person)
    name = _one_line(name)
    if not 3 <= len(name) <= 120:
        raise Invalid(_("Give the group a name of 3 to 120 characters."))
    if timezone_name not in _TIMEZONES:
        raise Invalid(_("Unknown time zone %s.") % timezone_name)
    _check_pace(pace_hours_per_week)
    role = catalog.get_role(role_slug) if role_slug else None
    with transaction.atomic():
        group = StudyGroup.objects.create(name=name, slug=_unique_group_slug(name),
                                          target_role=role, timezone=timezone_name,
                                          pace_hours_per_week=pace_hours_per_week)
        StudyGroupMembership.objects.create(group=group, user=person)
    return group


def join_study_group(actor: object, slug: str) -> GroupView:
    """Join a group (idempotent); Conflict when it already has :data:`GROUP_SIZE` members."""
    person = _require_person(actor)
    with transaction.atomic():
        group = StudyGroup.objects.select_for_update().filter(slug=slug).first()
        if group is None:
            raise NotFound(_("There is no study group %s.") % slug)
        if not group.memberships.filter(user=person).exists():
            if group.memberships.count() >= GROUP_SIZE:
                raise Conflict(_("This group is full (%d people); try another or start "
                                 "one.") % GROUP_SIZE)
            StudyGroupMembership.objects.create(group=group, user=person)
    return study_group(person, slug)


def leave_study_group(actor: object, slug: str) -> GroupView:
    """Leave a group one belongs to (Conflict if not a member)."""
    person = _require_person(actor)
    removed, _kinds = StudyGroupMembership.objects.filter(group__slug=slug, user=person).delete()
    if not removed:
        study_group(person, slug)  # NotFound for an unknown group
        raise Conflict(_("You are not a member of this group."))
    return study_group(person, slug)


# ------------------------------------------------------------------- groups formed for people


@dataclass(frozen=True)
class GroupSearch:
    """What "Find me a group" offers: the roles, the actor's zone and default pace (from
    their weekly learning time), and their waiting request if they have one."""

    roles: list[tuple[str, str]]
    timezone: str
    default_pace: int
    waiting: WaitingView | None


@dataclass(frozen=True)
class WaitingView:
    request: StudyGroupRequest
    role_title: str
    others_waiting: int  # other people waiting for a group of the same role


@dataclass(frozen=True)
class Placement:
    """The outcome of "Find me a group": the group the actor is in now, or None (waiting)."""

    request: StudyGroupRequest
    group: StudyGroup | None
    formed: bool  # the actor's arrival formed new groups from the pool


def _pace_from_profile(minutes: int) -> int:
    return min(MAX_PACE_HOURS, max(1, round(minutes / 60)))


def _utc_offset_h(zone: str, now: datetime) -> float:
    """The zone's offset from UTC at ``now`` (daylight saving included), in hours."""
    offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def _waiting_view(request: StudyGroupRequest) -> WaitingView:
    others = (StudyGroupRequest.objects.filter(role_id=request.role_id,
                                               status=StudyGroupRequest.Status.WAITING)
              .exclude(pk=request.pk).count())
    return WaitingView(request=request, role_title=request.role.title, others_waiting=others)


def group_search(actor: object) -> GroupSearch:
    """The "Find me a group" form for the actor, with their waiting request if any."""
    person = _require_person(actor)
    profile = accounts.get_profile(person, person)
    request = (StudyGroupRequest.objects.select_related("role")
               .filter(user=person, status=StudyGroupRequest.Status.WAITING).first())
    return GroupSearch(
        roles=[(role.slug, role.title) for role in catalog.list_roles()],
        timezone=profile.timezone, default_pace=_pace_from_profile(
            profile.weekly_learning_minutes),
        waiting=_waiting_view(request) if request is not None else None)


def find_study_group(actor: object, *, role_slug: str, pace_hours_per_week: int,
                     now: datetime | None = None) -> Placement:
    """Find the actor a study group for a target role at a pace (hours a week); their time
    zone is their profile's.

    At once into the best open group of the role (:func:`cohorts.best_open_group` over the
    groups with fewer than :data:`COHORT_MAX_SIZE` members, UTC offsets computed now from
    each member's zone); otherwise the actor waits in the role's pool, and when the pool
    holds :data:`MIN_COHORT` people or more, :func:`cohorts.form_cohorts` splits it into new
    groups, whose members are placed and notified.

    One transaction; the role's waiting requests (and its open groups) are locked with
    ``select_for_update``, so two arrivals cannot both form a group from the same people or
    both take the last seat. One waiting request per person: asking again for the same role
    updates the pace (idempotent), for another role is a Conflict (withdraw first). Someone
    already in a group of the role is told so (Conflict)."""
    person = _require_person(actor)
    _require_not_suspended(person)
    if not role_slug:
        raise Invalid(_("Choose the role you are aiming for."))
    _check_pace(pace_hours_per_week)
    try:
        role = catalog.get_role(role_slug)
    except NotFound:
        raise Invalid(_("Choose one of the listed roles; there is no role %s.")
                      % role_slug) from None
    now = now or timezone.now()
    with transaction.atomic():
        pool = _locked_pool(role.pk)
        mine = (StudyGroupRequest.objects.select_for_update()
                .filter(user=person, status=StudyGroupRequest.Status.WAITING).first())
        if mine is not None and mine.role_id != role.pk:
            raise Conflict(_("You are already waiting for a %(role)s group. Withdraw that "
                             "request first to look for another role.")
                           % {"role": mine.role.title})
        current = StudyGroup.objects.filter(target_role=role, memberships__user=person).first()
        if current is not None:
            raise Conflict(_("You are already in a study group for this role: %s.")
                           % current.name)
        zone = _own_timezone(person)
        newcomer = cohorts.Learner(person.pk, role.slug, _utc_offset_h(zone, now),
                                   pace_hours_per_week)
        group = _best_open_group(role, newcomer, now)
        if group is not None:
            return Placement(_place_in(person, role, group, mine, pace_hours_per_week, now),
                             group, formed=False)
        if mine is None:
            mine = StudyGroupRequest.objects.create(user=person, role=role, created_at=now,
                                                    pace_hours_per_week=pace_hours_per_week)
        elif mine.pace_hours_per_week != pace_hours_per_week:
            mine.pace_hours_per_week = pace_hours_per_week
            mine.save(update_fields=["pace_hours_per_week"])
        pool = [*[r for r in pool if r.pk != mine.pk], mine]
        formed = _form_groups(role, pool, now) if len(pool) >= MIN_COHORT else []
        mine.refresh_from_db()
        placed = next((g for g in formed if g.pk == mine.group_id), None)
        return Placement(mine, placed, formed=bool(formed))


def _locked_pool(role_id: int) -> list[StudyGroupRequest]:
    return list(StudyGroupRequest.objects.select_for_update()
                .filter(role_id=role_id, status=StudyGroupRequest.Status.WAITING)
                .order_by("created_at", "pk"))


def _best_open_group(role: Role, newcomer: cohorts.Learner, now: datetime) -> StudyGroup | None:
    groups = {group.pk: group for group in
              StudyGroup.objects.select_for_update().filter(target_role=role).order_by("pk")}
    if not groups:
        return None
    members: dict[int, list[cohorts.Learner]] = {pk: [] for pk in groups}
    for membership in (StudyGroupMembership.objects.filter(group_id__in=list(groups))
                       .select_related("user__profile")):
        group = groups[membership.group_id]
        profile = getattr(membership.user, "profile", None)
        zone = profile.timezone if isinstance(profile, Profile) else "UTC"
        # Members share the group's agreed pace; each one's clock is their own zone's, now.
        members[group.pk].append(cohorts.Learner(membership.user_id, role.slug,
                                                 _utc_offset_h(zone, now),
                                                 group.pace_hours_per_week))
    open_groups = [cohorts.OpenGroup(pk, role.slug, tuple(people),
                                     COHORT_MAX_SIZE - len(people))
                   for pk, people in members.items() if people]
    best = cohorts.best_open_group(newcomer, open_groups)
    return groups[best.key] if best is not None else None


def _place_in(person: User, role: Role, group: StudyGroup, request: StudyGroupRequest | None,
              pace: int, now: datetime) -> StudyGroupRequest:
    StudyGroupMembership.objects.create(group=group, user=person, joined_at=now)
    if request is None:
        request = StudyGroupRequest(user=person, role=role, created_at=now)
    request.pace_hours_per_week = pace
    request.status, request.group, request.closed_at = (StudyGroupRequest.Status.PLACED, group,
                                                        now)
    request.save()
    return request


def _form_groups(role: Role, pool: Sequence[StudyGroupRequest], now: datetime
                 ) -> list[StudyGroup]:
    """Split the role's (locked) pool into groups with :func:`cohorts.form_cohorts`; create
    each group with its members, mark their requests placed and notify them."""
    by_user = {request.user_id: request for request in pool}
    zones = {profile.user_id: profile.timezone
             for profile in Profile.objects.filter(user_id__in=list(by_user))}
    learners = [cohorts.Learner(user_id, role.slug, _utc_offset_h(zones.get(user_id, "UTC"), now),
                                request.pace_hours_per_week)
                for user_id, request in by_user.items()]
    grouping = cohorts.form_cohorts(learners, min_size=MIN_COHORT, max_size=COHORT_MAX_SIZE)
    made = []
    for cohort in grouping.cohorts:
        member_zones = [zones.get(m.key, "UTC") for m in cohort.members]
        # The most common zone names the group; a tie goes to the first in alphabetical order.
        counts = Counter(member_zones)
        zone = min(counts, key=lambda name: (-counts[name], name))
        pace = round(statistics.median(m.pace_h for m in cohort.members))
        name = _("%(role)s · %(city)s cohort") % {
            "role": role.title, "city": zone.rsplit("/", 1)[-1].replace("_", " ")}
        group = StudyGroup.objects.create(
            name=name, slug=_unique_group_slug(name), target_role=role, timezone=zone,
            pace_hours_per_week=min(MAX_PACE_HOURS, max(1, pace)), created_at=now)
        for member in cohort.members:
            StudyGroupMembership.objects.create(group=group, user_id=member.key, joined_at=now)
        StudyGroupRequest.objects.filter(
            pk__in=[by_user[m.key].pk for m in cohort.members]).update(
            status=StudyGroupRequest.Status.PLACED, group=group, closed_at=now)
        url = reverse("community:group", args=[group.slug])
        for user in User.objects.filter(pk__in=[m.key for m in cohort.members]):
            notifications.notify(
                user, kind="community.group_formed",
                subject=_("Your study group is ready: %s") % group.name,
                body=_("%(n)d people aiming for %(role)s at about %(pace)d hours a week. Say "
                       "hello on the group's board.")
                % {"n": len(cohort.members), "role": role.title,
                   "pace": group.pace_hours_per_week}, url=url)
        made.append(group)
    return made


def withdraw_group_request(actor: object) -> StudyGroupRequest:
    """Stop waiting for a group (the actor's own waiting request). Conflict if not waiting."""
    person = _require_person(actor)
    with transaction.atomic():
        request = (StudyGroupRequest.objects.select_for_update()
                   .filter(user=person, status=StudyGroupRequest.Status.WAITING).first())
        if request is None:
            raise Conflict(_("You are not waiting for a study group."))
        request.status, request.closed_at = StudyGroupRequest.Status.WITHDRAWN, timezone.now()
        request.save(update_fields=["status", "closed_at"])
    return request


# --------------------------------------------------------------------------- the hub


@dataclass(frozen=True)
class BoardLink:
    course: Course
    open_questions: int  # questions without an accepted answer


@dataclass(frozen=True)
class CommunityHub:
    boards: list[BoardLink]  # the boards of the courses in the actor's programs
    reviews: list[ActivityLink]
    groups: list[GroupView]  # the actor's own study groups
    flagged: int | None  # posts waiting for a moderator (moderators only)
    can_open_rounds: bool = False  # staff and instructors open peer-review rounds


def community_hub(actor: object) -> CommunityHub:
    """Where a learner's community is: the boards of the courses they study or have posted
    on, the peer-review rounds open to them, their study groups and, for moderators, the flag
    queue's length."""
    person = _require_person(actor)
    courses: dict[str, Course] = {}
    for enrollment in learning.enrollments(person):
        for course, _minutes in catalog.program_courses(enrollment.program):
            courses.setdefault(course.slug, course)
    posted_on = (Post.objects.filter(author=person, thread__board__group__isnull=True)
                 .values_list("thread__board__course_slug", flat=True).distinct())
    for slug in sorted(set(posted_on) - set(courses)):
        try:
            courses[slug] = catalog.current_course(slug)
        except NotFound:
            continue  # a course since withdrawn: its board is unreadable anyway
    open_counts = dict(
        Thread.objects.filter(board__course_slug__in=list(courses), kind=Thread.Kind.QUESTION,
                              accepted_answer__isnull=True)
        .values_list("board__course_slug").annotate(n=Count("pk")).values_list(
            "board__course_slug", "n"))
    zone = _own_timezone(person)
    groups = [_group_view(person, group, zone) for group in
              StudyGroup.objects.filter(memberships__user=person).select_related("target_role")
              .prefetch_related(_members_first_joined())]
    flagged = None
    if is_moderator(person):
        flagged = (Flag.objects.filter(resolved_at__isnull=True).values("post_id").distinct()
                   .count())
    return CommunityHub(
        boards=[BoardLink(course, open_counts.get(slug, 0)) for slug, course in courses.items()],
        reviews=list_activities(person), groups=groups, flagged=flagged,
        can_open_rounds=can_open_rounds(person))
