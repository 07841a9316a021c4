"""Public operations of calibrated peer review: rounds, write-ups, training, reviews, grades.

The rules are in the pure module :mod:`upskill.community.reviewing`; this module loads the
round from the tables, asks it, and records the answer. Every function that acts for someone
takes the acting person (``actor``) and checks permission itself:

- Staff create rounds, see everything with names, and grade escalated write-ups.
- An author reads their own write-up, its grade and the reviews it received, never who wrote
  them; a reviewer reads a write-up only while assigned to it (or after reviewing it), never
  who wrote it. Nobody else reads either. Views built here (``*Page``) carry no names where
  anonymity applies, and notifications name nobody.
- A reviewer must have submitted a write-up and passed training before being given one.

Group projects: a study group may hand in one shared write-up per round (``WriteUp.shared``):
any member submits it and any member may edit it until reviewing starts; every member reads
it, is told of its reviews and sees its grade and feedback; no member reviews it (nor is
assigned it). A member counts as having submitted, so may review others; each member owes the
round's ``n`` reviews personally, and sees the group's grade once *they* have given them (or
the round has closed) — one member's diligence does not release the grade to the others. A
person has one write-up in a round: their own or their group's, never both (submitting the
other is a Conflict). Who is "in the group" is read from the memberships at the time.

Assignment is serialized per round (the round's row is locked), so two reviewers asking at
once never both take the last free place. Grades are settled whenever a review arrives and
whenever a round's pages are read after the deadline, so no clock job is needed for a round to
finish; settling twice writes the same rows (``update_or_create``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.community import reviewing
from upskill.community.models import StudyGroupMembership
from upskill.community.review_models import (
    PeerGrade,
    PeerReview,
    PeerReviewActivity,
    ReviewAssignment,
    StaffEscalation,
    TrainingAttempt,
    TrainingExample,
    WriteUp,
)
from upskill.core import notifications
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.markdown import render_markdown
from upskill.labs import services as labs

__all__ = [
    "MAX_COMMENT_CHARS",
    "MAX_WRITE_UP_CHARS",
    "ActivityLink",
    "ActivityPage",
    "AssignmentPage",
    "CriterionScore",
    "FeedbackPage",
    "ReceivedReview",
    "StaffOverview",
    "StaffRow",
    "TrainingPage",
    "WriteUpView",
    "activity_page",
    "assignment_page",
    "create_activity",
    "feedback_page",
    "get_activity",
    "list_activities",
    "read_write_up",
    "request_review",
    "resolve_escalation",
    "rubric_of",
    "settle",
    "staff_overview",
    "submit_review",
    "submit_training",
    "submit_write_up",
    "training_page",
]

MAX_WRITE_UP_CHARS = 20_000
MAX_COMMENT_CHARS = 5_000


def _is_staff(user: User) -> bool:
    """Who runs rounds and sees names: staff and instructors (the author role)."""
    return (accounts.has_role(user, PlatformRole.STAFF)
            or accounts.has_role(user, PlatformRole.AUTHOR))


def _name(user: User) -> str:
    return accounts.display_name(user, missing=_("A learner"))


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def rubric_of(activity: PeerReviewActivity) -> reviewing.Rubric:
    return reviewing.Rubric.from_dict(activity.rubric)


def _points(rubric: reviewing.Rubric, scores: Mapping[str, str]) -> dict[str, int]:
    try:
        return rubric.points(scores)
    except reviewing.InvalidScores as error:
        raise Invalid(_sentence(str(error))) from None


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# --------------------------------------------------------------------------- rounds


def create_activity(actor: User, *, slug: str, title: str, rubric: Mapping[str, Any],
                    deadline: datetime, reviews_per_submission: int = 3,
                    reviews_required: int = 3, prompt: str = "", lab_slug: str | None = None,
                    examples: Sequence[tuple[str, Mapping[str, str], str]] = (),
                    lease_hours: int = 8, training_tolerance_steps: int = 0
                    ) -> PeerReviewActivity:
    """Create a round (staff only): rubric checked, training examples' staff scores complete.

    ``examples`` are ``(markdown, staff scores, explanation)``. A round is about a lab project
    (``lab_slug``) or standalone with a ``prompt``. All or nothing.
    """
    if not _is_staff(actor):
        raise PermissionDenied(_("Only staff and instructors create peer review rounds."))
    try:
        parsed = reviewing.Rubric.from_dict(rubric)
    except reviewing.InvalidRubric as error:
        raise Invalid(_sentence(str(error))) from None
    if reviews_per_submission < 1 or reviews_required < 0 or lease_hours < 1:
        raise Invalid(_("Each write-up needs at least one review and a lease of an hour."))
    lab = labs.get_lab(lab_slug) if lab_slug else None
    if lab is None and not prompt.strip():
        raise Invalid(_("A standalone round needs a prompt."))
    if PeerReviewActivity.objects.filter(slug=slug).exists():
        raise Conflict(_("A round with this slug exists."))
    with transaction.atomic():
        activity = PeerReviewActivity.objects.create(
            slug=slug, title=title, lab=lab, prompt_markdown=prompt,
            prompt_html=render_markdown(prompt), rubric=parsed.to_dict(), deadline=deadline,
            reviews_per_submission=reviews_per_submission, reviews_required=reviews_required,
            lease_hours=lease_hours, training_tolerance_steps=training_tolerance_steps,
            created_by=actor)
        for position, (text, scores, explanation) in enumerate(examples):
            _points(parsed, scores)
            TrainingExample.objects.create(
                activity=activity, position=position, text_markdown=text,
                text_html=render_markdown(text), staff_scores=dict(scores),
                explanation=explanation)
    return activity


def get_activity(slug: str) -> PeerReviewActivity:
    activity = PeerReviewActivity.objects.select_related("lab").filter(slug=slug).first()
    if activity is None:
        raise NotFound(_("There is no peer review round %s.") % slug)
    return activity


# --------------------------------------------------------------------------- write-ups


def _write_up_of(actor: User, activity: PeerReviewActivity) -> WriteUp | None:
    """The actor's write-up in the round: their own (or the shared one they submitted), else
    the shared write-up of a study group they belong to."""
    own = WriteUp.objects.filter(activity=activity, author=actor).first()
    if own is not None:
        return own
    return (WriteUp.objects.filter(activity=activity, shared=True,
                                   study_group__memberships__user=actor)
            .order_by("pk").first())


def _may_read_as_author(actor: User, write_up: WriteUp) -> bool:
    if write_up.author_id == actor.pk:
        return True
    return write_up.shared and StudyGroupMembership.objects.filter(
        group_id=write_up.study_group_id, user=actor).exists()


def _authors(write_up: WriteUp) -> list[User]:
    """Who is told about the write-up's reviews and grade: its author, and for a shared
    write-up every current member of the group."""
    people = [write_up.author]
    if write_up.shared:
        people += list(User.objects.filter(
            study_group_memberships__group_id=write_up.study_group_id, is_active=True,
        ).exclude(pk=write_up.author_id))
    return people


def submit_write_up(actor: User, activity: PeerReviewActivity, text: str, *,
                    study_group_id: int | None = None, shared: bool = False,
                    now: datetime | None = None) -> WriteUp:
    """Submit (or, until someone is reviewing it, replace) the actor's write-up.

    Before the deadline only. ``study_group_id`` must be a group the actor belongs to; its
    members will never review this write-up. With ``shared`` it is the group's one write-up
    for the round: the first member submits it, any member replaces it until reviewing
    starts. Refused (Conflict) when it would give someone two write-ups in the round: a
    member who has their own, or whom another group's shared write-up covers. Serialized by
    the write-up's row and the unique constraints (a race is a Conflict, not a duplicate).
    """
    now = _now(now)
    if now >= activity.deadline:
        raise Conflict(_("The deadline for write-ups has passed."))
    text = text.strip()
    if not text:
        raise Invalid(_("Write something before submitting."))
    if len(text) > MAX_WRITE_UP_CHARS:
        raise Invalid(_("A write-up has at most %d characters.") % MAX_WRITE_UP_CHARS)
    if shared and study_group_id is None:
        raise Invalid(_("Choose the study group the write-up is shared with."))
    if study_group_id is not None and not StudyGroupMembership.objects.filter(
            group_id=study_group_id, user=actor).exists():
        raise PermissionDenied(_("You are not a member of that study group."))
    if shared and study_group_id is not None:
        try:
            with transaction.atomic():
                return _submit_shared(actor, activity, text, study_group_id, now)
        except IntegrityError:
            raise Conflict(_("Another member submitted the group's write-up at the same "
                             "moment; open the round again to see it.")) from None
    covering = _write_up_of(actor, activity)
    if covering is not None and covering.author_id != actor.pk:
        raise Conflict(_("Your study group handed in one write-up for all its members; edit "
                         "that one instead."))
    with transaction.atomic():
        existing = WriteUp.objects.select_for_update().filter(activity=activity,
                                                              author=actor).first()
        if existing is not None:
            if existing.shared:
                raise Conflict(_("This is your study group's shared write-up; submit it as the "
                                 "group's."))
            if existing.assignments.exists():
                raise Conflict(_("Your write-up is being reviewed; it can no longer change."))
            existing.text_markdown, existing.text_html = text, render_markdown(text)
            existing.study_group_id = study_group_id
            existing.submitted_at = now
            existing.save()
            return existing
        return WriteUp.objects.create(activity=activity, author=actor, text_markdown=text,
                                      text_html=render_markdown(text),
                                      study_group_id=study_group_id, submitted_at=now)


def _submit_shared(actor: User, activity: PeerReviewActivity, text: str, group_id: int,
                   now: datetime) -> WriteUp:
    existing = WriteUp.objects.select_for_update().filter(
        activity=activity, study_group_id=group_id, shared=True).first()
    if existing is not None:
        if existing.assignments.exists():
            raise Conflict(_("Your group's write-up is being reviewed; it can no longer "
                             "change."))
        existing.text_markdown, existing.text_html = text, render_markdown(text)
        existing.submitted_at = now
        existing.save(update_fields=["text_markdown", "text_html", "submitted_at"])
        return existing
    members = list(StudyGroupMembership.objects.filter(group_id=group_id)
                   .values_list("user_id", flat=True))
    if WriteUp.objects.filter(activity=activity).filter(
            Q(author_id__in=members)
            | Q(shared=True, study_group__memberships__user_id__in=members)).exists():
        raise Conflict(_("Someone in this group already has a write-up in this round (their "
                         "own or another group's), so the group cannot hand in one for all "
                         "its members."))
    return WriteUp.objects.create(activity=activity, author=actor, study_group_id=group_id,
                                  shared=True, text_markdown=text,
                                  text_html=render_markdown(text), submitted_at=now)


@dataclass(frozen=True)
class WriteUpView:
    id: int
    activity_title: str
    text_html: str
    author_name: str  # empty unless the reader is the author or staff
    group_name: str = ""  # a shared write-up, for its group's members and staff


def read_write_up(actor: User, write_up_id: int) -> WriteUpView:
    """A write-up for its author (every member of the group, for a shared one), staff, or a
    reviewer assigned to it (who sees no name, not even the group's)."""
    write_up = WriteUp.objects.select_related("activity", "author", "study_group").filter(
        pk=write_up_id).first()
    if write_up is None:
        raise NotFound(_("There is no such write-up."))
    group = write_up.study_group.name if write_up.shared and write_up.study_group else ""
    if _is_staff(actor) or write_up.author_id == actor.pk:
        name = _name(write_up.author)
    elif _may_read_as_author(actor, write_up):
        return WriteUpView(write_up.pk, write_up.activity.title, write_up.text_html, "", group)
    elif write_up.assignments.filter(reviewer=actor).exists():
        name = ""
    else:
        raise PermissionDenied(_("You can read a peer's write-up only while reviewing it."))
    return WriteUpView(write_up.pk, write_up.activity.title, write_up.text_html, name,
                       group if name else "")


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    criterion_label: str
    option_label: str
    points: float | None = None
    expected_label: str = ""  # training: staff's option, on a miss
    direction: str = ""


@dataclass(frozen=True)
class TrainingPage:
    examples: int
    passed: int
    example: TrainingExample | None  # the next one to score; None when training is complete
    last_misses: tuple[CriterionScore, ...]  # of the last attempt at ``example``
    last_passed: bool | None
    complete: bool


def _passed_examples(actor: User, activity: PeerReviewActivity) -> set[int]:
    return set(TrainingAttempt.objects.filter(activity=activity, reviewer=actor, passed=True)
               .values_list("example_id", flat=True))


def _training_complete(actor: User, activity: PeerReviewActivity) -> bool:
    examples = set(activity.training_examples.values_list("pk", flat=True))
    return examples <= _passed_examples(actor, activity)


def _misses(rubric: reviewing.Rubric, misses: Sequence[Mapping[str, Any]]
            ) -> tuple[CriterionScore, ...]:
    result = []
    for miss in misses:
        criterion = rubric.criterion(miss["criterion"])
        result.append(CriterionScore(
            criterion.key, criterion.label, criterion.option(miss["chosen"]).label,
            expected_label=criterion.option(miss["expected"]).label,
            direction=_("harsher than staff") if miss["steps_off"] > 0
            else _("more lenient than staff")))
    return tuple(result)


def training_page(actor: User, activity: PeerReviewActivity) -> TrainingPage:
    """Where the actor stands in training: the next example and how their last try went."""
    examples = list(activity.training_examples.all())
    passed = _passed_examples(actor, activity)
    pending = [e for e in examples if e.pk not in passed]
    example = pending[0] if pending else None
    last = (TrainingAttempt.objects.filter(reviewer=actor, example=example).last()
            if example is not None else None)
    return TrainingPage(
        examples=len(examples), passed=len(passed & {e.pk for e in examples}), example=example,
        last_misses=_misses(rubric_of(activity), last.misses) if last else (),
        last_passed=last.passed if last else None, complete=not pending)


def submit_training(actor: User, activity: PeerReviewActivity, example_id: int,
                    scores: Mapping[str, str]) -> TrainingAttempt:
    """Record the actor's scores of a training example and whether they match staff's.

    Every attempt is kept; the example is passed once an attempt passes.
    """
    example = activity.training_examples.filter(pk=example_id).first()
    if example is None:
        raise NotFound(_("There is no such training example."))
    rubric = rubric_of(activity)
    _points(rubric, scores)
    result = reviewing.check_training(rubric, example.staff_scores, scores,
                                      tolerance_steps=activity.training_tolerance_steps)
    return TrainingAttempt.objects.create(
        activity=activity, reviewer=actor, example=example, scores=dict(scores),
        passed=result.passed,
        misses=[{"criterion": m.criterion, "chosen": m.chosen, "expected": m.expected,
                 "steps_off": m.steps_off} for m in result.misses])


# --------------------------------------------------------------------------- assignment


def _round(activity: PeerReviewActivity) -> tuple[list[reviewing.SubmissionRef],
                                                  list[reviewing.Assignment]]:
    submissions = [reviewing.SubmissionRef(w.pk, w.author_id, w.study_group_id, w.submitted_at)
                   for w in activity.write_ups.all()]
    assignments = [reviewing.Assignment(a.reviewer_id, a.write_up_id, a.started_at, a.expires_at,
                                        a.completed_at)
                   for a in ReviewAssignment.objects.filter(write_up__activity=activity)]
    return submissions, assignments


def _reviewer(actor: User) -> reviewing.ReviewerRef:
    groups = StudyGroupMembership.objects.filter(user=actor).values_list("group_id", flat=True)
    return reviewing.ReviewerRef(actor.pk, frozenset(groups))


def request_review(actor: User, activity: PeerReviewActivity, *,
                   now: datetime | None = None) -> ReviewAssignment | None:
    """Give the actor a write-up to review (their open one first), or ``None`` if none is left.

    Needs the actor's own write-up and finished training; refused once the round has closed.
    Serialized per round; the lease runs ``activity.lease_hours``.
    """
    now = _now(now)
    if _write_up_of(actor, activity) is None:
        raise PermissionDenied(_("Submit your own write-up before reviewing others."))
    if not _training_complete(actor, activity):
        raise PermissionDenied(_("Finish the training examples before reviewing."))
    if now >= activity.closes_at:
        raise Conflict(_("This round is closed; no more reviews are handed out."))
    with transaction.atomic():
        PeerReviewActivity.objects.select_for_update().filter(pk=activity.pk).first()
        submissions, assignments = _round(activity)
        pick = reviewing.next_submission(
            _reviewer(actor), submissions, assignments, k=activity.reviews_per_submission,
            now=now, overgrade=now < activity.deadline)
        if pick is None:
            return None
        assignment, created = ReviewAssignment.objects.get_or_create(
            write_up_id=pick, reviewer=actor,
            defaults={"started_at": now, "expires_at": now + activity.lease})
        if not created and assignment.status == ReviewAssignment.Status.OPEN \
                and assignment.expires_at <= now:
            assignment.started_at, assignment.expires_at = now, now + activity.lease
            assignment.save(update_fields=["started_at", "expires_at"])
        return assignment


@dataclass(frozen=True)
class AssignmentPage:
    assignment: ReviewAssignment
    activity: PeerReviewActivity
    rubric: reviewing.Rubric
    text_html: str
    given: Mapping[str, str]  # the scores already given (completed) or empty
    comment: str
    expired: bool


def _own_assignment(actor: User, assignment_id: int) -> ReviewAssignment:
    assignment = (ReviewAssignment.objects.select_related("write_up__activity")
                  .filter(pk=assignment_id).first())
    if assignment is None or assignment.reviewer_id != actor.pk:
        # Another person's assignment is reported as missing: its existence is not revealed.
        raise NotFound(_("There is no such review."))
    return assignment


def assignment_page(actor: User, assignment_id: int, *,
                    now: datetime | None = None) -> AssignmentPage:
    """The write-up to review and the rubric, for the assigned reviewer only (no names)."""
    now = _now(now)
    assignment = _own_assignment(actor, assignment_id)
    activity = assignment.write_up.activity
    review = PeerReview.objects.filter(assignment=assignment).first()
    return AssignmentPage(
        assignment=assignment, activity=activity, rubric=rubric_of(activity),
        text_html=assignment.write_up.text_html, given=review.scores if review else {},
        comment=review.comment_markdown if review else "",
        expired=review is None and assignment.expires_at <= now)


def submit_review(actor: User, assignment_id: int, scores: Mapping[str, str], comment: str,
                  *, now: datetime | None = None) -> PeerReview:
    """Complete the actor's review: every criterion scored, comment optional.

    After the lease a review is still taken if its place is free (the write-up is short of
    ``k`` and the round open); otherwise ``Conflict``. Once only. Settles the write-up and
    tells its author, without naming the reviewer.
    """
    now = _now(now)
    assignment = _own_assignment(actor, assignment_id)
    write_up = assignment.write_up
    activity = write_up.activity
    _points(rubric_of(activity), scores)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise Invalid(_("A comment has at most %d characters.") % MAX_COMMENT_CHARS)
    with transaction.atomic():
        PeerReviewActivity.objects.select_for_update().filter(pk=activity.pk).first()
        assignment.refresh_from_db()
        if assignment.status == ReviewAssignment.Status.COMPLETED:
            raise Conflict(_("You already reviewed this write-up."))
        if assignment.expires_at <= now and not _place_free(activity, write_up, now):
            raise Conflict(_("Your time for this review ran out and others took the place. "
                             "Ask for another write-up."))
        review = PeerReview.objects.create(assignment=assignment, scores=dict(scores),
                                           comment_markdown=comment,
                                           comment_html=render_markdown(comment), created_at=now)
        assignment.status, assignment.completed_at = ReviewAssignment.Status.COMPLETED, now
        assignment.save(update_fields=["status", "completed_at"])
        for person in _authors(write_up):
            notifications.notify(
                person, kind="peer_review.received",
                subject=_("A peer reviewed your write-up for “%s”") % activity.title,
                url=reverse("peer_review:feedback", args=[activity.slug]), email=False)
        _settle_write_up(activity, write_up, now)
    return review


def _place_free(activity: PeerReviewActivity, write_up: WriteUp, now: datetime) -> bool:
    if now >= activity.closes_at:
        return False
    submissions, assignments = _round(activity)
    counts = reviewing.live_review_counts(submissions, assignments, now)
    return counts[write_up.pk] < activity.reviews_per_submission


# --------------------------------------------------------------------------- settling


def _completed_reviews(write_up: WriteUp) -> list[PeerReview]:
    return list(PeerReview.objects.filter(assignment__write_up=write_up)
                .select_related("assignment").order_by("created_at", "pk"))


def _settle_write_up(activity: PeerReviewActivity, write_up: WriteUp, now: datetime) -> None:
    if PeerGrade.objects.filter(write_up=write_up, by_staff=True).exists():
        return
    if StaffEscalation.objects.filter(write_up=write_up).exists():
        return
    submissions, assignments = _round(activity)
    ref = next(s for s in submissions if s.id == write_up.pk)
    rubric = rubric_of(activity)
    reviews = [r.scores for r in _completed_reviews(write_up)]
    outcome = reviewing.submission_outcome(
        rubric, ref, assignments, reviews, k=activity.reviews_per_submission, now=now,
        closes_at=activity.closes_at, spread_threshold=activity.spread_threshold,
        mad_threshold=activity.mad_threshold)
    feedback_url = reverse("peer_review:feedback", args=[activity.slug])
    if outcome.state == "escalated" and outcome.escalation is not None:
        PeerGrade.objects.filter(write_up=write_up).delete()
        StaffEscalation.objects.create(write_up=write_up, reason=outcome.escalation.reason,
                                       created_at=now)
        for person in _authors(write_up):
            notifications.notify(
                person, kind="peer_review.escalated",
                subject=_("Staff will grade your write-up for “%s”") % activity.title,
                url=feedback_url)
    elif outcome.state == "graded" and outcome.grade is not None:
        _grade, created = PeerGrade.objects.update_or_create(write_up=write_up, defaults={
            "criteria": outcome.grade.criteria, "total": outcome.grade.total,
            "max_total": rubric.max_total, "reviews": outcome.grade.reviews,
            "short": outcome.short, "computed_at": now})
        for person in _authors(write_up) if created else []:
            notifications.notify(
                person, kind="peer_review.graded",
                subject=_("Your write-up for “%s” has a grade") % activity.title,
                url=feedback_url)


def settle(activity: PeerReviewActivity, *, now: datetime | None = None) -> None:
    """Grade or escalate every write-up of the round whose outcome is due. Idempotent."""
    now = _now(now)
    for write_up in activity.write_ups.all():
        with transaction.atomic():
            _settle_write_up(activity, write_up, now)


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class ActivityPage:
    activity: PeerReviewActivity
    rubric: reviewing.Rubric
    write_up: WriteUp | None
    groups: list[tuple[int, str]]  # the actor's study groups (id, name)
    training: TrainingPage
    requirement: reviewing.Requirement
    assignments: list[ReviewAssignment]
    accuracy: float | None  # the actor's reviewing accuracy, 0-100, once measurable
    open_for_write_ups: bool
    open_for_reviews: bool
    staff: bool


def activity_page(actor: User, activity: PeerReviewActivity, *,
                  now: datetime | None = None) -> ActivityPage:
    """The round as the actor sees it: their write-up, training, reviews owed and given."""
    now = _now(now)
    if now >= activity.deadline:
        settle(activity, now=now)
    submissions, assignments = _round(activity)
    me = _reviewer(actor)
    requirement = reviewing.review_requirement(
        me, submissions, assignments, n=activity.reviews_required,
        k=activity.reviews_per_submission, now=now, deadline=activity.deadline)
    accuracy = _accuracies(activity).get(actor.pk)
    groups = [(m.group_id, m.group.name) for m in
              StudyGroupMembership.objects.filter(user=actor).select_related("group")]
    return ActivityPage(
        activity=activity, rubric=rubric_of(activity),
        write_up=_write_up_of(actor, activity), groups=groups,
        training=training_page(actor, activity), requirement=requirement,
        assignments=list(ReviewAssignment.objects.filter(
            write_up__activity=activity, reviewer=actor).order_by("started_at", "pk")),
        accuracy=accuracy, open_for_write_ups=now < activity.deadline,
        open_for_reviews=now < activity.closes_at, staff=_is_staff(actor))


@dataclass(frozen=True)
class ReceivedReview:
    label: str  # "Reviewer 1", ...: never a name
    scores: tuple[CriterionScore, ...]
    total: int
    comment_html: str


@dataclass(frozen=True)
class FeedbackPage:
    activity: PeerReviewActivity
    write_up: WriteUp
    state: str  # "waiting", "owe_reviews", "graded", "escalated"
    grade: PeerGrade | None
    grade_rows: tuple[CriterionScore, ...]
    escalation_reason: str
    completed_reviews: int
    reviews: tuple[ReceivedReview, ...]  # shown once the write-up is graded or escalated
    requirement: reviewing.Requirement


def _scores_view(rubric: reviewing.Rubric, scores: Mapping[str, str]
                 ) -> tuple[CriterionScore, ...]:
    return tuple(CriterionScore(c.key, c.label, c.option(scores[c.key]).label,
                                points=c.option(scores[c.key]).points) for c in rubric.criteria)


def feedback_page(actor: User, activity: PeerReviewActivity, *,
                  now: datetime | None = None) -> FeedbackPage:
    """The actor's grade and the anonymous reviews of their write-up.

    As in ORA2, the outcome is shown once the author has given the reviews they owe (or is
    excused: after the deadline nothing was left for them); once the round has closed it is
    shown regardless, so nobody's grade is withheld for ever. Until then ``state`` is
    ``"owe_reviews"`` and ``requirement`` says how many are missing.
    """
    now = _now(now)
    write_up = _write_up_of(actor, activity)
    if write_up is None:
        raise NotFound(_("You have not submitted a write-up in this round."))
    with transaction.atomic():
        _settle_write_up(activity, write_up, now)
    rubric = rubric_of(activity)
    grade = PeerGrade.objects.filter(write_up=write_up).first()
    escalation = StaffEscalation.objects.filter(write_up=write_up).first()
    received = _completed_reviews(write_up)
    submissions, assignments = _round(activity)
    requirement = reviewing.review_requirement(
        _reviewer(actor), submissions, assignments, n=activity.reviews_required,
        k=activity.reviews_per_submission, now=now, deadline=activity.deadline)
    final = grade is not None or escalation is not None
    if final and not requirement.met and now < activity.closes_at:
        state, grade, final = "owe_reviews", None, False
    elif grade is not None:
        state = "graded"
    else:
        state = "escalated" if escalation else "waiting"
    reviews = tuple(
        ReceivedReview(_("Reviewer %d") % number, _scores_view(rubric, r.scores),
                       rubric.total(r.scores), r.comment_html)
        for number, r in enumerate(received, start=1)) if final else ()
    grade_rows = tuple(CriterionScore(c.key, c.label, "", points=grade.criteria.get(c.key))
                       for c in rubric.criteria) if grade is not None else ()
    return FeedbackPage(
        activity=activity, write_up=write_up, state=state, grade=grade, grade_rows=grade_rows,
        escalation_reason=(_("Staff are grading it; the peer reviews disagreed or were "
                             "missing.") if state == "escalated" else ""),
        completed_reviews=len(received), reviews=reviews, requirement=requirement)


# --------------------------------------------------------------------------- staff


def _accuracies(activity: PeerReviewActivity) -> dict[int, float]:
    by_write_up: dict[int, dict[int, Mapping[str, str]]] = {}
    for review in PeerReview.objects.filter(assignment__write_up__activity=activity
                                            ).select_related("assignment"):
        by_write_up.setdefault(review.assignment.write_up_id, {})[
            review.assignment.reviewer_id] = review.scores
    return reviewing.reviewer_accuracy(rubric_of(activity), by_write_up)


@dataclass(frozen=True)
class StaffRow:
    write_up: WriteUp
    author_name: str
    reviews: list[tuple[str, int, float | None]]  # reviewer name, total, accuracy
    grade: PeerGrade | None
    escalation: StaffEscalation | None


@dataclass(frozen=True)
class StaffOverview:
    activity: PeerReviewActivity
    rubric: reviewing.Rubric
    rows: list[StaffRow]
    accuracy: list[tuple[str, float]]  # reviewer name, accuracy 0-100


def staff_overview(actor: User, activity: PeerReviewActivity, *,
                   now: datetime | None = None) -> StaffOverview:
    """Everything about the round, with names: staff only."""
    if not _is_staff(actor):
        raise PermissionDenied(_("Only staff and instructors see who wrote and who reviewed."))
    settle(activity, now=_now(now))
    rubric = rubric_of(activity)
    accuracy = _accuracies(activity)
    names = {user.pk: _name(user)
             for user in User.objects.filter(pk__in=accuracy).select_related("profile")}
    rows = []
    for write_up in activity.write_ups.select_related("author__profile", "study_group"):
        reviews = [(_name(r.assignment.reviewer), rubric.total(r.scores),
                    accuracy.get(r.assignment.reviewer_id))
                   for r in PeerReview.objects.filter(assignment__write_up=write_up)
                   .select_related("assignment__reviewer__profile")]
        author_name = _name(write_up.author)
        if write_up.shared and write_up.study_group is not None:
            author_name = _("%(group)s (group write-up, handed in by %(name)s)") % {
                "group": write_up.study_group.name, "name": author_name}
        rows.append(StaffRow(write_up, author_name, reviews,
                             PeerGrade.objects.filter(write_up=write_up).first(),
                             StaffEscalation.objects.filter(write_up=write_up).first()))
    return StaffOverview(activity, rubric, rows,
                         sorted((names[pk], value) for pk, value in accuracy.items()))


def resolve_escalation(actor: User, escalation_id: int, scores: Mapping[str, str],
                       note: str = "", *, now: datetime | None = None) -> PeerGrade:
    """Staff grade an escalated write-up with the rubric; the author is told (no names)."""
    if not _is_staff(actor):
        raise PermissionDenied(_("Only staff and instructors grade escalated write-ups."))
    now = _now(now)
    escalation = (StaffEscalation.objects.select_related("write_up__activity")
                  .filter(pk=escalation_id).first())
    if escalation is None:
        raise NotFound(_("There is no such escalation."))
    activity = escalation.write_up.activity
    rubric = rubric_of(activity)
    points = _points(rubric, scores)
    with transaction.atomic():
        grade, _created = PeerGrade.objects.update_or_create(
            write_up=escalation.write_up, defaults={
                "criteria": {key: float(value) for key, value in points.items()},
                "total": float(sum(points.values())), "max_total": rubric.max_total,
                "reviews": len(_completed_reviews(escalation.write_up)), "short": False,
                "by_staff": True, "computed_at": now})
        escalation.resolved_at, escalation.resolved_by, escalation.note = now, actor, note
        escalation.save(update_fields=["resolved_at", "resolved_by", "note"])
        for person in _authors(escalation.write_up):
            notifications.notify(
                person, kind="peer_review.graded",
                subject=_("Your write-up for “%s” has a grade") % activity.title,
                url=reverse("peer_review:feedback", args=[activity.slug]))
    return grade


@dataclass(frozen=True)
class ActivityLink:
    activity: PeerReviewActivity
    submitted: bool  # the actor has a write-up in it
    open: bool  # before the deadline


def list_activities(actor: User, *, now: datetime | None = None) -> list[ActivityLink]:
    """Peer-review rounds the actor can take part in (before the deadline) or took part in,
    soonest deadline first. Names nobody."""
    now = _now(now)
    mine = set(WriteUp.objects.filter(Q(author=actor) | Q(
        shared=True, study_group__memberships__user=actor)).values_list("activity_id", flat=True))
    rows = PeerReviewActivity.objects.filter(Q(deadline__gt=now) | Q(pk__in=mine))
    return [ActivityLink(activity=row, submitted=row.pk in mine, open=row.deadline > now)
            for row in rows.order_by("deadline", "pk")[:50]]
