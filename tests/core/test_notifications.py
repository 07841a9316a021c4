"""Notifications: each person sees and clears only their own; an email goes out once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from upskill.accounts.models import User
from upskill.core import jobs, notifications
from upskill.core.errors import Invalid, NotFound
from upskill.core.models import Job, Notification

pytestmark = pytest.mark.django_db


def email_job(note: Notification) -> Job:
    return Job.objects.get(dedupe_key=f"{notifications.EMAIL_JOB}:{note.pk}")


def test_a_notification_is_mailed_once_even_when_its_job_runs_twice(learner: User) -> None:
    note = notifications.notify(learner, kind="reply", subject="A mentor answered",
                                body="Your question has an answer.", url="/community/t/1/")
    job = email_job(note)
    assert jobs.run_job(job.pk) == "done"
    assert notifications.send_notification_email(note.pk) == {"sent": False}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [learner.email]
    assert mail.outbox[0].subject == "A mentor answered"
    assert "/community/t/1/" in mail.outbox[0].body


def test_without_email_nothing_is_queued(learner: User) -> None:
    note = notifications.notify(learner, kind="reply", subject="Quiet", email=False)
    assert not Job.objects.filter(dedupe_key=f"{notifications.EMAIL_JOB}:{note.pk}").exists()
    assert notifications.unread_count(learner) == 1


@pytest.mark.parametrize(("subject", "url"), [("  ", ""), ("Hello", "https://evil.example/")])
def test_bad_notifications_are_refused(learner: User, subject: str, url: str) -> None:
    with pytest.raises(Invalid):
        notifications.notify(learner, kind="x", subject=subject, url=url)


def test_a_person_cannot_read_or_clear_anothers_notifications(
        learner: User, other_learner: User) -> None:
    mine = notifications.notify(learner, kind="reply", subject="For the learner only",
                                email=False)
    assert notifications.list_notifications(other_learner) == []
    with pytest.raises(NotFound):
        notifications.mark_read(other_learner, mine.pk)
    assert notifications.mark_read(other_learner) == 0
    mine.refresh_from_db()
    assert mine.read_at is None


def test_the_page_lists_ones_own_and_marks_them_read(
        learner: User, other_learner: User, client_for: Callable[[User], Client]) -> None:
    note = notifications.notify(learner, kind="reply", subject="Your answer was accepted",
                                url="/dashboard/", email=False)
    notifications.notify(other_learner, kind="reply", subject="Someone else's news", email=False)
    client = client_for(learner)
    page = client.get("/notifications/").content.decode()
    assert "Your answer was accepted" in page
    assert "Someone else&#x27;s news" not in page and "Someone else's news" not in page
    assert '<span class="badge">1' in page
    response = client.post("/notifications/read/", {"id": note.pk, "next": note.url})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert notifications.unread_count(learner) == 0
    assert client.post("/notifications/read/", {"id": "abc"}).status_code == 400
    other = client_for(other_learner)
    assert other.post("/notifications/read/", {"id": note.pk}).status_code == 404


def test_an_open_redirect_is_not_followed(learner: User,
                                          client_for: Callable[[User], Client]) -> None:
    note = notifications.notify(learner, kind="reply", subject="x", email=False)
    response = client_for(learner).post("/notifications/read/",
                                        {"id": note.pk, "next": "//evil.example/"})
    assert response["Location"] == "/notifications/"
