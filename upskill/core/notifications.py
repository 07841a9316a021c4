"""Notifications: the one way any app tells a person that something happened.

An app calls ``notify`` inside its own transaction; the row is visible on the person's
notifications page at once, and when ``email`` is set the durable job
``core.notification_email`` mails it after the transaction commits (at-least-once
transport, sent once: the job records ``emailed_at`` and skips a row already sent).
The caller writes the words; this module never adds names, so an app with privacy rules
(anonymous peer review) stays in control of what a notification reveals.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from upskill.core import jobs
from upskill.core.errors import Invalid, NotFound
from upskill.core.models import Notification

__all__ = ["EMAIL_JOB", "list_notifications", "mark_read", "notify", "unread_count"]

EMAIL_JOB = "core.notification_email"
PAGE_SIZE = 50


def notify(
    recipient: AbstractBaseUser,
    *,
    kind: str,
    subject: str,
    body: str = "",
    url: str = "",
    email: bool = True,
) -> Notification:
    """Record a notification for ``recipient`` and, with ``email``, mail it once after commit.

    ``url`` is a site path (``/community/...``) the notification links to. Not idempotent:
    callers that may run twice (jobs) guard with their own records or ``dedupe`` keys.
    """
    if not subject.strip():
        raise Invalid("A notification needs a subject.")
    if url and not url.startswith("/"):
        raise Invalid("A notification links to a path on this site.")
    wants_email = email and bool(getattr(recipient, "email", ""))
    with transaction.atomic():
        notification = Notification.objects.create(
            recipient_id=recipient.pk, kind=kind, subject=subject[:200], body=body, url=url,
            email=wants_email,
        )
        if wants_email:
            jobs.enqueue(EMAIL_JOB, {"notification": notification.pk},
                         dedupe_key=f"{EMAIL_JOB}:{notification.pk}")
    return notification


def list_notifications(actor: AbstractBaseUser, *, unread_only: bool = False) -> list[Notification]:
    """The actor's own newest notifications (a person only ever sees their own)."""
    rows = Notification.objects.filter(recipient_id=actor.pk)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return list(rows[:PAGE_SIZE])


def unread_count(actor: AbstractBaseUser) -> int:
    return Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True).count()


def mark_read(actor: AbstractBaseUser, notification_id: int | None = None) -> int:
    """Mark one of the actor's notifications read, or all of them when no id is given.

    Another person's notification is reported as not found (its existence is not revealed).
    Returns how many rows changed.
    """
    rows = Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True)
    if notification_id is not None:
        if not Notification.objects.filter(pk=notification_id, recipient_id=actor.pk).exists():
            raise NotFound("No such notification.")
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=timezone.now())


def send_notification_email(notification_id: int) -> dict[str, Any]:
    """Mail one notification. Sends at most once per row; a missing row is not an error."""
    from django.conf import settings

    with transaction.atomic():
        notification = (Notification.objects.select_for_update()
                        .select_related("recipient").filter(pk=notification_id).first())
        if notification is None or notification.emailed_at is not None:
            return {"sent": False}
        recipient_email = getattr(notification.recipient, "email", "")
        if not recipient_email:
            return {"sent": False}
        link = f"{settings.PUBLIC_URL}{notification.url}" if notification.url else ""
        text = notification.body + (f"\n\n{link}\n" if link else "\n")
        send_mail(notification.subject, text, None, [recipient_email])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return {"sent": True}
