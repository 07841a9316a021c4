"""``/api/v1/community``: discussion boards, peer review (as the caller sees it), study groups.

Thin: each route calls :mod:`upskill.community.services`, which checks who may do what. The
answers show what the pages show and nothing more: a thread names its posters by display name
and badge, as the thread page does; peer review is anonymous both ways (no author or reviewer
name, email, handle or person id anywhere in a peer-review answer), and another person's
review assignment is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import services

router = Router(tags=["community"])


def caller(request: HttpRequest) -> User:
    return accounts.person(getattr(request, "auth", None))


# --------------------------------------------------------------------------- boards and threads


class ThreadSummaryOut(Schema):
    id: int
    title: str
    kind: Literal["question", "discussion"]
    replies: int
    answered: bool
    locked: bool
    lesson: str = Field(description="the lesson's slug; empty for the course's own board")
    created_at: datetime
    last_activity_at: datetime


class BoardOut(Schema):
    course: str
    lesson: str = Field(description="empty for a course board")
    title: str
    threads: list[ThreadSummaryOut] = Field(
        description="newest activity first; a course board also lists its lessons' threads")


def _board(user: User, view: services.BoardView) -> dict[str, Any]:
    return {
        "course": view.course.slug, "lesson": view.lesson.slug if view.lesson else "",
        "title": view.title,
        "threads": [{
            "id": s.thread.pk, "title": s.thread.title, "kind": s.thread.kind,
            "replies": s.replies, "answered": s.answered, "locked": s.thread.is_locked,
            "lesson": s.lesson_slug, "created_at": s.thread.created_at,
            "last_activity_at": s.thread.last_activity_at,
        } for s in services.list_threads(user, view)],
    }


@router.get("/boards/{course_slug}", response=BoardOut,
            summary="A course's board: its threads and its lessons' threads")
def course_board(request: HttpRequest, course_slug: str) -> dict[str, Any]:
    user = caller(request)
    return _board(user, services.open_board(user, course_slug))


@router.get("/boards/{course_slug}/lessons/{lesson_slug}", response=BoardOut,
            summary="A lesson's board and its threads")
def lesson_board(request: HttpRequest, course_slug: str, lesson_slug: str) -> dict[str, Any]:
    user = caller(request)
    return _board(user, services.open_board(user, course_slug, lesson_slug))


class PostOut(Schema):
    id: int
    is_opening: bool
    author_name: str = Field(description="the poster's display name, as the thread page shows")
    author_badge: Literal["", "mentor", "staff"] = Field(
        description="the poster's platform role when they posted; empty for a learner")
    body_html: str = Field(description="sanitized HTML; empty when hidden from you")
    hidden: bool
    hidden_reason: str = Field(description="only for the post's author and moderators")
    created_at: datetime
    edited_at: datetime | None
    score: int
    my_vote: Literal[-1, 0, 1]
    mine: bool
    accepted: bool
    can_edit: bool
    can_vote: bool
    can_accept: bool
    can_flag: bool


class ThreadOut(Schema):
    id: int
    title: str
    kind: Literal["question", "discussion"]
    course: str = Field(description="empty for a thread on a study group's board")
    lesson: str
    group: str | None = Field(description="the study group's slug, for a group board's thread")
    board_title: str
    locked: bool
    created_at: datetime
    accepted_answer: int | None = Field(description="the id of the accepted reply, if any")
    opening: PostOut
    replies: list[PostOut]
    can_reply: bool
    moderator: bool
    suspended_until: datetime | None = Field(
        description="set while you are suspended from posting")


def _post(view: services.PostView) -> dict[str, Any]:
    post = view.post
    return {
        "id": post.pk, "is_opening": post.is_opening, "author_name": view.author_name,
        "author_badge": post.author_badge, "body_html": view.shown_html,
        "hidden": view.hidden_notice,
        "hidden_reason": post.hidden_reason if view.shown_html else "",
        "created_at": post.created_at, "edited_at": post.edited_at, "score": post.score,
        "my_vote": view.my_vote, "mine": view.mine, "accepted": view.accepted,
        "can_edit": view.can_edit, "can_vote": view.can_vote, "can_accept": view.can_accept,
        "can_flag": view.can_flag,
    }


def _thread(user: User, thread_id: int) -> dict[str, Any]:
    page = services.thread_page(user, thread_id)
    thread, board = page.thread, page.board
    if isinstance(board, services.GroupBoardView):
        where: dict[str, Any] = {"course": "", "lesson": "", "group": board.group.slug}
    else:
        where = {"course": board.course.slug, "lesson": board.lesson.slug if board.lesson else "",
                 "group": None}
    return {
        "id": thread.pk, "title": thread.title, "kind": thread.kind, **where,
        "board_title": board.title, "locked": thread.is_locked,
        "created_at": thread.created_at,
        "accepted_answer": page.accepted.post.pk if page.accepted else None,
        "opening": _post(page.opening), "replies": [_post(v) for v in page.replies],
        "can_reply": page.can_reply, "moderator": page.moderator,
        "suspended_until": page.suspended_until,
    }


@router.get("/threads/{thread_id}", response=ThreadOut,
            summary="A thread: the opening post, replies, votes and the accepted answer")
def get_thread(request: HttpRequest, thread_id: int) -> dict[str, Any]:
    return _thread(caller(request), thread_id)


class ThreadIn(Schema):
    kind: Literal["question", "discussion"] = "question"
    title: str = Field(max_length=1000, description="8 to 160 characters")
    body: str = Field(max_length=100_000, description="Markdown, at most 20,000 characters")


def _start(request: HttpRequest, course_slug: str, lesson_slug: str,
           body: ThreadIn) -> Status[dict[str, Any]]:
    user = caller(request)
    view = services.open_board(user, course_slug, lesson_slug)
    thread = services.start_thread(user, view, kind=body.kind, title=body.title,
                                   body=body.body)
    return Status(201, _thread(user, thread.pk))


@router.post("/boards/{course_slug}/threads", response={201: ThreadOut},
             summary="Ask a question or start a discussion on a course's board")
def start_course_thread(request: HttpRequest, course_slug: str,
                        body: ThreadIn) -> Status[dict[str, Any]]:
    return _start(request, course_slug, "", body)


@router.post("/boards/{course_slug}/lessons/{lesson_slug}/threads", response={201: ThreadOut},
             summary="Ask a question or start a discussion on a lesson's board")
def start_lesson_thread(request: HttpRequest, course_slug: str, lesson_slug: str,
                        body: ThreadIn) -> Status[dict[str, Any]]:
    return _start(request, course_slug, lesson_slug, body)


class ReplyIn(Schema):
    body: str = Field(max_length=100_000, description="Markdown, at most 20,000 characters")


def _post_in_thread(user: User, post_id: int) -> dict[str, Any]:
    page = services.thread_page(user, services.thread_of_post(user, post_id))
    return next(_post(v) for v in [page.opening, *page.replies] if v.post.pk == post_id)


@router.post("/threads/{thread_id}/replies", response={201: PostOut},
             summary="Reply to a thread (its author and @mentioned people are notified)")
def reply(request: HttpRequest, thread_id: int, body: ReplyIn) -> Status[dict[str, Any]]:
    user = caller(request)
    post = services.reply(user, thread_id, body.body)
    return Status(201, _post_in_thread(user, post.pk))


class VoteIn(Schema):
    value: int = Field(ge=-1, le=1, description="1 up, -1 down, 0 takes your vote back")


@router.post("/posts/{post_id}/vote", response=PostOut,
             summary="Vote a post up or down, or take your vote back")
def vote(request: HttpRequest, post_id: int, body: VoteIn) -> dict[str, Any]:
    user = caller(request)
    services.vote(user, post_id, body.value)
    return _post_in_thread(user, post_id)


@router.post("/posts/{post_id}/accept", response=ThreadOut,
             summary="Accept a reply as the answer to your question (the asker or staff)")
def accept(request: HttpRequest, post_id: int) -> dict[str, Any]:
    user = caller(request)
    thread = services.accept_answer(user, post_id)
    return _thread(user, thread.pk)


# --------------------------------------------------------------------------- peer review


class RoundOut(Schema):
    slug: str
    title: str
    deadline: datetime
    open: bool = Field(description="before the deadline for write-ups")
    submitted: bool = Field(description="you have a write-up in this round")
    lab: str | None = Field(description="the lab project the write-ups are about")


@router.get("/reviews", response=list[RoundOut],
            summary="Peer-review rounds open to me or that I took part in, soonest first")
def list_rounds(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"slug": link.activity.slug, "title": link.activity.title,
             "deadline": link.activity.deadline, "open": link.open,
             "submitted": link.submitted,
             "lab": link.activity.lab.slug if link.activity.lab else None}
            for link in services.list_activities(caller(request))]


class OptionOut(Schema):
    key: str
    label: str
    points: int


class CriterionOut(Schema):
    key: str
    label: str
    options: list[OptionOut] = Field(description="weakest first")


def _rubric(rubric: Any) -> list[dict[str, Any]]:
    return [{"key": c.key, "label": c.label,
             "options": [{"key": o.key, "label": o.label, "points": o.points}
                         for o in c.options]} for c in rubric.criteria]


class RequirementOut(Schema):
    required: int
    completed: int
    met: bool
    excused: bool = Field(description="nothing was left for you to review")


def _requirement(requirement: Any) -> dict[str, Any]:
    return {"required": requirement.required, "completed": requirement.completed,
            "met": requirement.met, "excused": requirement.excused}


class MyWriteUpOut(Schema):
    id: int
    submitted_at: datetime
    text_markdown: str
    study_group: int | None = Field(description="one of your groups: its members never "
                                    "review it")
    shared: bool = Field(description="your study group's one write-up for all its members")


class GroupChoiceOut(Schema):
    id: int
    name: str


class TrainingOut(Schema):
    examples: int
    passed: int
    complete: bool


class MyAssignmentOut(Schema):
    id: int
    status: Literal["open", "completed"]
    started_at: datetime
    expires_at: datetime
    completed_at: datetime | None


class RoundDetailOut(Schema):
    slug: str
    title: str
    deadline: datetime
    closes_at: datetime = Field(description="no reviews are handed out from then on")
    lab: str | None
    prompt_html: str
    rubric: list[CriterionOut]
    write_up: MyWriteUpOut | None = Field(description="yours; nobody else's is ever listed")
    groups: list[GroupChoiceOut] = Field(description="your study groups")
    training: TrainingOut
    requirement: RequirementOut
    assignments: list[MyAssignmentOut] = Field(description="the reviews you were given")
    accuracy: float | None = Field(description="your reviewing accuracy, 0-100")
    open_for_write_ups: bool
    open_for_reviews: bool
    staff: bool


@router.get("/reviews/{slug}", response=RoundDetailOut,
            summary="A round as I see it: rubric, my write-up, training, the reviews I owe")
def get_round(request: HttpRequest, slug: str) -> dict[str, Any]:
    user = caller(request)
    page = services.activity_page(user, services.get_activity(slug))
    activity, write_up = page.activity, page.write_up
    return {
        "slug": activity.slug, "title": activity.title, "deadline": activity.deadline,
        "closes_at": activity.closes_at, "lab": activity.lab.slug if activity.lab else None,
        "prompt_html": activity.prompt_html, "rubric": _rubric(page.rubric),
        "write_up": None if write_up is None else {
            "id": write_up.pk, "submitted_at": write_up.submitted_at,
            "text_markdown": write_up.text_markdown, "study_group": write_up.study_group_id,
            "shared": write_up.shared},
        "groups": [{"id": group_id, "name": name} for group_id, name in page.groups],
        "training": {"examples": page.training.examples, "passed": page.training.passed,
                     "complete": page.training.complete},
        "requirement": _requirement(page.requirement),
        "assignments": [{"id": a.pk, "status": a.status, "started_at": a.started_at,
                         "expires_at": a.expires_at, "completed_at": a.completed_at}
                        for a in page.assignments],
        "accuracy": page.accuracy, "open_for_write_ups": page.open_for_write_ups,
        "open_for_reviews": page.open_for_reviews, "staff": page.staff,
    }


class ScoreOut(Schema):
    criterion: str
    criterion_label: str
    option_label: str
    points: float | None


def _score(row: Any) -> dict[str, Any]:
    return {"criterion": row.criterion, "criterion_label": row.criterion_label,
            "option_label": row.option_label, "points": row.points}


class ReceivedReviewOut(Schema):
    label: str = Field(description='"Reviewer 1", …: never a name')
    scores: list[ScoreOut]
    total: int
    comment_html: str


class GradeOut(Schema):
    total: float
    max_total: int
    reviews: int
    short: bool = Field(description="graded with fewer reviews than planned")
    by_staff: bool


class FeedbackOut(Schema):
    round: str
    state: Literal["waiting", "owe_reviews", "graded", "escalated"]
    grade: GradeOut | None
    grade_rows: list[ScoreOut] = Field(description="median points per criterion")
    escalation_reason: str
    completed_reviews: int
    reviews: list[ReceivedReviewOut] = Field(
        description="anonymous; shown once the write-up is graded or escalated")
    requirement: RequirementOut


@router.get("/reviews/{slug}/feedback", response=FeedbackOut,
            summary="My grade and the anonymous reviews my write-up received")
def feedback(request: HttpRequest, slug: str) -> dict[str, Any]:
    user = caller(request)
    page = services.feedback_page(user, services.get_activity(slug))
    grade = page.grade
    return {
        "round": page.activity.slug, "state": page.state,
        "grade": None if grade is None else {
            "total": grade.total, "max_total": grade.max_total, "reviews": grade.reviews,
            "short": grade.short, "by_staff": grade.by_staff},
        "grade_rows": [_score(row) for row in page.grade_rows],
        "escalation_reason": page.escalation_reason,
        "completed_reviews": page.completed_reviews,
        "reviews": [{"label": r.label, "scores": [_score(s) for s in r.scores],
                     "total": r.total, "comment_html": r.comment_html} for r in page.reviews],
        "requirement": _requirement(page.requirement),
    }


class AssignmentOut(Schema):
    id: int
    round: str
    round_title: str
    status: Literal["open", "completed"]
    expires_at: datetime
    expired: bool = Field(description="your time ran out before you reviewed it")
    text_html: str = Field(description="the write-up to review, with no author's name")
    rubric: list[CriterionOut]
    given: dict[str, str] = Field(description="your scores, once you reviewed it")
    comment: str = Field(description="your comment, once you reviewed it")


def _assignment(user: User, assignment_id: int) -> dict[str, Any]:
    page = services.assignment_page(user, assignment_id)
    return {
        "id": page.assignment.pk, "round": page.activity.slug,
        "round_title": page.activity.title, "status": page.assignment.status,
        "expires_at": page.assignment.expires_at, "expired": page.expired,
        "text_html": page.text_html, "rubric": _rubric(page.rubric),
        "given": dict(page.given), "comment": page.comment,
    }


@router.post("/reviews/{slug}/next", response={200: AssignmentOut, 204: None},
             summary="Give me a write-up to review (my open one first); 204 when none is left")
def next_review(request: HttpRequest, slug: str) -> Status[dict[str, Any] | None]:
    user = caller(request)
    assignment = services.request_review(user, services.get_activity(slug))
    if assignment is None:
        return Status(204, None)
    return Status(200, _assignment(user, assignment.pk))


@router.get("/reviews/assignments/{assignment_id}", response=AssignmentOut,
            summary="One of my review assignments: the write-up (anonymous) and the rubric")
def get_assignment(request: HttpRequest, assignment_id: int) -> dict[str, Any]:
    return _assignment(caller(request), assignment_id)


# --------------------------------------------------------------------------- study groups


class GroupOut(Schema):
    slug: str
    name: str
    role: str | None
    role_title: str
    timezone: str
    pace_hours_per_week: int
    member_count: int
    is_member: bool
    is_full: bool
    same_timezone: bool
    members: list[str] = Field(description="display names, for members only")


@router.get("/groups", response=list[GroupOut],
            summary="Study groups: my time zone first, then the closest pace to mine")
def list_groups(request: HttpRequest, role: str = "") -> list[dict[str, Any]]:
    return [{
        "slug": v.group.slug, "name": v.group.name,
        "role": v.group.target_role.slug if v.group.target_role else None,
        "role_title": v.group.target_role.title if v.group.target_role else "",
        "timezone": v.group.timezone, "pace_hours_per_week": v.group.pace_hours_per_week,
        "member_count": v.member_count, "is_member": v.is_member, "is_full": v.is_full,
        "same_timezone": v.same_timezone, "members": v.members,
    } for v in services.list_study_groups(caller(request), role_slug=role)]
