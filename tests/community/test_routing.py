"""Questions nobody answered for a day go to the mentors who know the lesson's skills: the
durable job scheduled when the question is asked, run as a worker runs it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from tests.community.conftest import answer, ask
from upskill.accounts.models import User
from upskill.community import services
from upskill.community.models import Thread
from upskill.core import jobs
from upskill.core.models import Job, Notification
from upskill.mentoring import services as mentoring

pytestmark = pytest.mark.django_db


def volunteer(user: User, skills: list[str]) -> User:
    mentoring.save_mentor_profile(
        user, bio="I like SQL.", skill_slugs=skills, industries=[], languages=["en"],
        timezone_name="UTC", availability="Tue 18:00-20:00", capacity=2,
        changed_careers=False, accepting=True)
    return user


@pytest.fixture
def sql_mentor(make_user: Callable[..., User]) -> User:
    return volunteer(make_user("sqlmentor@example.test", display_name="Edgar Codd"),
                     ["sql-querying"])


@pytest.fixture
def literacy_mentor(make_user: Callable[..., User]) -> User:
    return volunteer(make_user("charts@example.test", display_name="Florence N"),
                     ["data-literacy"])


def routing_job(thread: Thread) -> Job:
    return Job.objects.get(kind=services.ROUTE_JOB, dedupe_key=f"{services.ROUTE_JOB}:{thread.pk}")


def run_when_due(job: Job) -> str:
    """Run the job as a worker does once its time has come."""
    Job.objects.filter(pk=job.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    return jobs.run_job(job.pk)


def unanswered_notes() -> list[Notification]:
    return list(Notification.objects.filter(kind="community.unanswered"))


def test_a_question_unanswered_for_a_day_goes_to_mentors_who_know_its_skill(
        course: Path, learner: User, sql_mentor: User, literacy_mentor: User) -> None:
    thread = ask(learner)  # the where-clause lesson teaches sql-querying
    job = routing_job(thread)
    # Not before a day has passed: a worker that wakes early finds nothing to claim.
    assert jobs.run_job(job.pk) == "skipped"
    assert unanswered_notes() == []
    assert run_when_due(job) == "done"
    [note] = unanswered_notes()
    assert note.recipient == sql_mentor
    assert thread.title in note.subject and note.url == f"/community/threads/{thread.pk}/"
    thread.refresh_from_db()
    assert thread.routed_to_mentors_at is not None
    result = routing_job(thread).result
    assert result is not None and result["skills"] == ["sql-querying"]


def test_the_routing_notifies_once_even_if_the_job_is_recorded_twice(
        course: Path, learner: User, sql_mentor: User) -> None:
    thread = ask(learner)
    job = routing_job(thread)
    result = services.route_unanswered_question(thread.pk)
    with transaction.atomic():
        services.record_routing(job, result)
        services.record_routing(job, result)  # a duplicate delivery of the same result
    assert len(unanswered_notes()) == 1
    # Enqueueing again for the same thread returns the same job.
    assert jobs.enqueue(services.ROUTE_JOB, {"thread": thread.pk},
                        dedupe_key=f"{services.ROUTE_JOB}:{thread.pk}").pk == job.pk
    assert run_when_due(job) == "done"
    assert len(unanswered_notes()) == 1


def test_an_answered_question_is_not_routed(
        course: Path, learner: User, other_learner: User, sql_mentor: User) -> None:
    thread = ask(learner)
    answer(other_learner, thread)
    assert run_when_due(routing_job(thread)) == "done"
    assert unanswered_notes() == []
    thread.refresh_from_db()
    assert thread.routed_to_mentors_at is None


def test_the_askers_own_follow_up_is_not_an_answer(
        course: Path, learner: User, sql_mentor: User) -> None:
    thread = ask(learner)
    answer(learner, thread, "Still stuck, here is more detail.")
    assert run_when_due(routing_job(thread)) == "done"
    assert [n.recipient for n in unanswered_notes()] == [sql_mentor]


def test_a_mentor_asking_is_not_sent_their_own_question(
        course: Path, sql_mentor: User) -> None:
    thread = ask(sql_mentor)
    assert run_when_due(routing_job(thread)) == "done"
    assert unanswered_notes() == []


def test_a_question_on_the_course_board_uses_the_skills_of_all_its_lessons(
        course: Path, learner: User, sql_mentor: User, literacy_mentor: User) -> None:
    thread = ask(learner, "Is this course enough for the analyst exam?", "Wondering.",
                 lesson="")
    assert run_when_due(routing_job(thread)) == "done"
    result = routing_job(thread).result
    assert result is not None and result["skills"] == ["sql-querying"]
    assert [n.recipient for n in unanswered_notes()] == [sql_mentor]
