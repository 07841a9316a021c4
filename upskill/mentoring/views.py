"""Mentoring pages: the hub, asking for a mentor, the mentor profile, a mentorship with its
free slots, a session with its notes and invite.

Thin: each view parses the request, calls :mod:`upskill.mentoring.services` and renders.
Domain errors that are not about a form become ``error.html`` with their status through
``DomainErrorMiddleware``; form errors are shown on the form with status 400.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.core.errors import Conflict, Invalid, PermissionDenied
from upskill.mentoring import schedule, services
from upskill.mentoring.forms import (
    LiveSessionForm,
    MentorProfileForm,
    NotesForm,
    RecordingForm,
    RequestForm,
)


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


@login_required
@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    return render(request, "mentoring/hub.html", {"hub": services.hub(_user(request))})


@login_required
@require_http_methods(["GET", "POST"])
def request_mentor(request: HttpRequest) -> HttpResponse:
    """Ask for a mentor: goals, target role, languages, weekly availability, preferences."""
    user = _user(request)
    roles = [(role.slug, role.title) for role in catalog.list_roles()]
    form = RequestForm(request.POST or None, roles=roles, languages=services.LANGUAGES)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.submit_request(
                    user, goals=data["goals"], role_slug=data["role"],
                    languages=data["languages"], availability=data["availability"],
                    industry=data["industry"],
                    wants_career_changer=data["wants_career_changer"],
                    wants_same_industry=data["wants_same_industry"])
            except (Invalid, Conflict) as refused:
                form.add_error(None, refused.detail)
                status = refused.status
            else:
                messages.success(request, _("Your request is in. We will tell you when a "
                                            "mentor is proposed."))
                return redirect("mentoring:hub")
    zone = accounts.get_profile(user, user).timezone
    return render(request, "mentoring/request.html", {"form": form, "zone": zone},
                  status=status)


@login_required
@require_POST
def close_request(request: HttpRequest, request_id: int) -> HttpResponse:
    services.close_request(_user(request), request_id)
    messages.success(request, _("Your request was withdrawn."))
    return redirect("mentoring:hub")


@login_required
@require_http_methods(["GET", "POST"])
def mentor_profile(request: HttpRequest) -> HttpResponse:
    """Become a mentor, or change one's mentor profile."""
    user = _user(request)
    profile = services.get_mentor_profile(user)
    skills = [(skill.slug, skill.name) for skill in catalog.list_skills()]
    initial: dict[str, object] = {"timezone": accounts.get_profile(user, user).timezone}
    if profile is not None:
        initial = {
            "bio": profile.bio, "skills": [s.slug for s in profile.skills.all()],
            "languages": profile.languages, "industries": ", ".join(profile.industries),
            "timezone": profile.timezone, "capacity": profile.capacity,
            "availability": schedule.window_text(schedule.parse_windows(profile.availability)),
            "changed_careers": profile.changed_careers, "accepting": profile.accepting,
        }
    form = MentorProfileForm(request.POST or None, initial=initial, skills=skills,
                             languages=services.LANGUAGES)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.save_mentor_profile(
                    user, bio=data["bio"], skill_slugs=data["skills"],
                    industries=data["industries"].split(","), languages=data["languages"],
                    timezone_name=data["timezone"], availability=data["availability"],
                    capacity=data["capacity"], changed_careers=data["changed_careers"],
                    accepting=data["accepting"])
            except Invalid as refused:
                form.add_error(None, refused.detail)
            else:
                messages.success(request, _("Your mentor profile is saved."))
                return redirect("mentoring:hub")
    return render(request, "mentoring/mentor_profile.html",
                  {"form": form, "profile": profile}, status=status)


@login_required
@require_POST
def respond(request: HttpRequest, request_id: int) -> HttpResponse:
    decision = request.POST.get("decision")
    if decision not in ("accept", "decline"):
        raise Invalid(_("Accept or decline the request."))
    mentorship = services.respond_to_proposal(_user(request), request_id,
                                              accept=decision == "accept")
    if mentorship is None:
        messages.success(request, _("Declined. We will look for another mentor for them."))
        return redirect("mentoring:hub")
    messages.success(request, _("You are now their mentor. Book a first session."))
    return redirect("mentoring:mentorship", mentorship.pk)


@login_required
@require_POST
def run_matching(request: HttpRequest) -> HttpResponse:
    proposed = services.run_matching_as(_user(request))
    messages.success(request, _("Matching ran: %d proposals made.") % proposed)
    return redirect("mentoring:hub")


def _mentorship_page(request: HttpRequest, mentorship_id: int, *, error: str = "",
                     status: int = 200) -> HttpResponse:
    user = _user(request)
    mentorship = services.get_mentorship(user, mentorship_id)
    is_mentor = mentorship.mentor_id == user.pk
    other = mentorship.learner if is_mentor else mentorship.mentor
    upcoming = [services.session_view(user, s) for s in mentorship.sessions.all()]
    return render(request, "mentoring/mentorship.html", {
        "mentorship": mentorship, "is_mentor": is_mentor,
        "other_name": services.display_name(other),
        "slots": services.open_slots(user, mentorship_id), "sessions": upcoming,
        "advice": list(mentorship.advice.all()), "error": error,
    }, status=status)


@login_required
@require_GET
def mentorship(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    return _mentorship_page(request, mentorship_id)


@login_required
@require_POST
def consent(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    shares = request.POST.get("shares_progress") == "yes"
    services.set_consent(_user(request), mentorship_id, shares_progress=shares)
    messages.success(request, _("Your mentor can now see your skill profile and path.") if shares
                     else _("Your mentor can no longer see your skill profile and path."))
    return redirect("mentoring:mentorship", mentorship_id)


@login_required
@require_POST
def book(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    """Book the chosen slot; back to the mentorship with the reason when refused."""
    user = _user(request)
    try:
        start = datetime.fromisoformat(request.POST.get("start", ""))
        minutes = int(request.POST.get("minutes", "30"))
    except ValueError:
        return _mentorship_page(request, mentorship_id, status=400,
                                error=_("Choose one of the offered times."))
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    try:
        session = services.book_session(user, mentorship_id, start, minutes=minutes)
    except (Invalid, Conflict) as refused:
        return _mentorship_page(request, mentorship_id, error=refused.detail,
                                status=refused.status)
    messages.success(request, _("Session booked."))
    return redirect("mentoring:session", session.pk)


@login_required
@require_POST
def advice(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    try:
        services.add_advice(_user(request), mentorship_id, request.POST.get("text", ""))
    except Invalid as refused:
        return _mentorship_page(request, mentorship_id, error=refused.detail, status=400)
    messages.success(request, _("Advice saved."))
    return redirect("mentoring:mentorship", mentorship_id)


@login_required
@require_GET
def progress(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    """The learner's skill profile and path, for the mentor while the learner consents."""
    user = _user(request)
    view = services.learner_progress(user, mentorship_id)
    mentorship = services.get_mentorship(user, mentorship_id)
    return render(request, "mentoring/progress.html", {
        "mentorship": mentorship, "profile": view.profile, "path": view.path,
        "learner_name": services.display_name(mentorship.learner)})


def _session_page(request: HttpRequest, session_id: int, *, form: NotesForm | None = None,
                  status: int = 200) -> HttpResponse:
    user = _user(request)
    view = services.session_view(user, services.get_session(user, session_id))
    if form is None and view.is_mentor:
        form = NotesForm(initial={"notes": view.session.notes,
                                  "action_items": "\n".join(view.session.action_items)})
    return render(request, "mentoring/session.html", {"view": view, "form": form},
                  status=status)


@login_required
@require_GET
def session(request: HttpRequest, session_id: int) -> HttpResponse:
    return _session_page(request, session_id)


@login_required
@require_POST
def notes(request: HttpRequest, session_id: int) -> HttpResponse:
    form = NotesForm(request.POST)
    if not form.is_valid():
        return _session_page(request, session_id, form=form, status=400)
    try:
        services.write_session_notes(
            _user(request), session_id, notes=form.cleaned_data["notes"],
            action_items=form.cleaned_data["action_items"].splitlines())
    except Invalid as refused:
        form.add_error(None, refused.detail)
        return _session_page(request, session_id, form=form, status=400)
    messages.success(request, _("Notes saved."))
    return redirect("mentoring:session", session_id)


@login_required
@require_POST
def cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    cancelled = services.cancel_session(_user(request), session_id)
    messages.success(request, _("Session cancelled."))
    return redirect("mentoring:mentorship", cancelled.mentorship_id)


@login_required
@require_GET
def invite(request: HttpRequest, session_id: int) -> HttpResponse:
    data = services.session_ics(_user(request), session_id)
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8; method=REQUEST")
    response["Content-Disposition"] = f'attachment; filename="mentoring-{session_id}.ics"'
    return response


# --- live sessions -------------------------------------------------------------------------

@login_required
@require_GET
def live_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(request, "mentoring/live_list.html", {
        "views": services.list_live_sessions(user), "can_host": services.can_host_live(user),
        "recordings": services.list_recordings(user)})


@login_required
@require_http_methods(["GET", "POST"])
def live_new(request: HttpRequest) -> HttpResponse:
    """Schedule a live session; the start is read in the host's own time zone (the
    middleware activates it), so what they type is what they mean."""
    user = _user(request)
    if not services.can_host_live(user):
        raise PermissionDenied(_("Only mentors and instructors schedule live sessions."))
    form = LiveSessionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                live = services.schedule_live_session(
                    user, title=data["title"], description=data["description"],
                    start=data["start"], minutes=data["minutes"], capacity=data["capacity"],
                    join_url=data["join_url"], lesson_ref=data["lesson_ref"])
            except (Invalid, Conflict) as refused:
                form.add_error(None, refused.detail)
                status = refused.status
            else:
                messages.success(request, _("Live session scheduled."))
                return redirect("mentoring:live", live.pk)
    return render(request, "mentoring/live_new.html", {"form": form}, status=status)


@login_required
@require_GET
def live(request: HttpRequest, live_id: int) -> HttpResponse:
    return _render_live(request, live_id, RecordingForm())


def _render_live(request: HttpRequest, live_id: int, recording_form: RecordingForm,
                 status: int = 200) -> HttpResponse:
    user = _user(request)
    view = services.get_live_session(user, live_id)
    attendance = services.live_attendance(user, live_id) if view.is_host else []
    return render(request, "mentoring/live.html", {
        "view": view, "attendance": attendance, "recording_form": recording_form},
        status=status)


@login_required
@require_POST
def live_recording(request: HttpRequest, live_id: int) -> HttpResponse:
    """The host publishes the recording and its captions (the session becomes a recorded
    lecture); a refused upload is shown on the form with 400 and the earlier one stays."""
    form = RecordingForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.publish_recording(_user(request), live_id,
                                       video=form.cleaned_data["video"],
                                       captions=form.cleaned_data["captions"])
        except Invalid as refused:
            form.add_error(None, refused.detail)
        else:
            messages.success(request, _("The recording is published with its captions and "
                                        "transcript."))
            return redirect("mentoring:live", live_id)
    return _render_live(request, live_id, form, status=400)


@login_required
@require_POST
def live_register(request: HttpRequest, live_id: int) -> HttpResponse:
    user = _user(request)
    if request.POST.get("action") == "unregister":
        services.unregister_live(user, live_id)
        messages.success(request, _("You gave your seat back."))
    else:
        services.register_live(user, live_id)
        messages.success(request, _("You are registered. We will remind you the day before."))
    return redirect("mentoring:live", live_id)


@login_required
@require_POST
def live_join(request: HttpRequest, live_id: int) -> HttpResponse:
    return redirect(services.join_live(_user(request), live_id))


@login_required
@require_POST
def live_cancel(request: HttpRequest, live_id: int) -> HttpResponse:
    services.cancel_live_session(_user(request), live_id)
    messages.success(request, _("Live session cancelled; registrants are told."))
    return redirect("mentoring:live_list")


@login_required
@require_GET
def live_invite(request: HttpRequest, live_id: int) -> HttpResponse:
    data = services.live_ics(_user(request), live_id)
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8; method=PUBLISH")
    response["Content-Disposition"] = f'attachment; filename="live-{live_id}.ics"'
    return response
