"""Renewal of credentials: reminders before expiry, superseding a credential by its renewal,
and marking credentials for renewal when their program's content gets a major release.

Guarantees:

- Reminders: the daily job ``credentials.send_renewal_reminders`` emails each holder at most
  once per step (90, 30 and 7 days before ``valid_until``; a ``RenewalReminder`` row per
  credential and step, unique). A credential that is revoked, suspended, superseded or already
  expired gets none, and neither does a step that had passed when the credential became
  valid.
  A holder whose reminders were missed (the worker was down) gets one email for the most urgent
  step due, not a burst. The row and the email share a transaction: a failed send leaves no
  row, so the next run tries again (at-least-once; a duplicate only if the process dies between
  the SMTP handshake and the commit).
- Scheduling without cron: each run first enqueues the next day's run (dedupe key per date),
  so a failing run never breaks the chain; issuing a credential makes sure a run is pending
  (:func:`schedule_reminders`); operators can run it now with
  ``manage.py credentials send-reminders``. Nothing is enqueued at import time.
- Superseding: a new credential for a program supersedes the holder's current one for the same
  program. The old credential's signed document is never touched (it cannot be: it is signed),
  so it keeps verifying as a signed document until its own ``validUntil``; our records and the
  public page say "superseded" until then and "expired" after.
- Early renewal never loses time: a credential from a renewal attempt taken before the old one
  expired is valid for the exam's months counted from the old expiry, not from the renewal.
- A major release (semver major above every earlier release) of a course package in a
  program, or of the exam package that credentials name as their release, sets
  ``renewal_due`` on the program's valid credentials (the catalog import calls
  :func:`mark_renewal_due` as a package writer, inside the import transaction), which makes a
  renewal available at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from upskill.accounts.models import Profile
from upskill.assessment.models import ExamAttempt, Purpose
from upskill.catalog.models import Program, Release
from upskill.catalog.services import Package
from upskill.core import jobs
from upskill.core.errors import Invalid
from upskill.core.models import Job
from upskill.credentials.models import Credential, RenewalReminder

__all__ = [
    "REMINDER_JOB",
    "REMINDER_STEPS_DAYS",
    "current_credential",
    "mark_renewal_due",
    "run_daily_reminders",
    "schedule_reminders",
    "send_renewal_reminders",
    "supersede",
    "supersede_held",
    "validity_start",
]

logger = logging.getLogger(__name__)

REMINDER_JOB = "credentials.send_renewal_reminders"
REMINDER_STEPS_DAYS = (90, 30, 7)
# The daily run is due at this time (UTC) each day.
REMINDER_RUN_AT = time(6, 0)


# ----------------------------------------------------------------------------- holding


def current_credential(user_id: int, program_id: int, *,
                       exclude: Credential | None = None) -> Credential | None:
    """The holder's newest credential for the program that is neither revoked nor superseded
    (it may be suspended or expired: callers decide what that means)."""
    query = Credential.objects.filter(user_id=user_id, program_id=program_id,
                                      revoked_at__isnull=True, superseded_by__isnull=True)
    if exclude is not None:
        query = query.exclude(pk=exclude.pk)
    return query.order_by("-issued_at", "-pk").first()


def validity_start(attempt: ExamAttempt, finished_at: datetime) -> datetime:
    """Where the validity of the credential from ``attempt`` is counted from: the expiry of
    the credential it renews when that is later (renewing early loses no time), else the
    finish. Only a renewal attempt extends, and only a credential in good standing."""
    if attempt.purpose != Purpose.RENEWAL:
        return finished_at
    held = current_credential(attempt.user_id, attempt.exam.program_id)
    if held is None or held.suspended_at is not None or held.valid_until is None \
            or held.valid_until <= finished_at:
        return finished_at
    return held.valid_until


def supersede(old: Credential, new: Credential) -> bool:
    """Record that ``new`` replaces ``old`` (same holder and program; Invalid otherwise).
    Idempotent: False when ``old`` was already superseded. The old document is not touched."""
    if old.pk == new.pk or old.user_id != new.user_id or old.program_id != new.program_id:
        raise Invalid("A credential is superseded only by a newer one of the same holder "
                      "and program.")
    changed = Credential.objects.filter(pk=old.pk, superseded_by__isnull=True).update(
        superseded_by=new)
    if changed:
        old.superseded_by = new
    return bool(changed)


def supersede_held(new: Credential) -> Credential | None:
    """After issuing ``new``: the holder's previous current credential for the program (if
    any, issued before it) is superseded by it. Returns the superseded one."""
    held = current_credential(new.user_id, new.program_id, exclude=new)
    if held is None or held.issued_at > new.issued_at:
        return None
    return held if supersede(held, new) else None


# ----------------------------------------------------------------------------- reminders


def _step_due(credential: Credential, now: datetime) -> int | None:
    """The most urgent reminder step whose date has come (None: none yet). Steps that had
    already passed when the credential became valid do not count."""
    assert credential.valid_until is not None
    due = None
    for days in REMINDER_STEPS_DAYS:
        reminder_at = credential.valid_until - timedelta(days=days)
        if credential.valid_from < reminder_at <= now:
            due = days if due is None else min(due, days)
    return due


def _local_date(credential: Credential) -> str:
    assert credential.valid_until is not None
    zone_name = (Profile.objects.filter(user_id=credential.user_id)
                 .values_list("timezone", flat=True).first()) or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = credential.valid_until.astimezone(zone)
    return f"{local.date().isoformat()} ({zone_name})"


def _offers_renewal(program: Program) -> bool:
    exam = getattr(program, "exam", None)
    return exam is not None and exam.renewal_max_items is not None


def _reminder_email(credential: Credential, days: int) -> tuple[str, str]:
    program = credential.program
    until = _local_date(credential)
    link = settings.PUBLIC_URL + reverse("assessment:exam_overview", args=[program.slug])
    how = ("take the shorter renewal exam" if _offers_renewal(program)
           else "pass the certification exam again")
    subject = f"Your {program.title} credential expires on {until.split()[0]}"
    body = (
        f"Your {program.title} credential is valid until {until}, {days} days or less from "
        f"now.\n\n"
        f"To keep it current, {how} before then:\n{link}\n\n"
        f"Renewing early loses no time: a renewed credential runs from the day the current one "
        f"would have expired. Your current credential stays verifiable until that day.\n\n"
        f"You receive this because you hold an Upskill credential. Reminders are sent 90, 30 "
        f"and 7 days before a credential expires.\n")
    return subject, body


def _reminder_candidates(now: datetime) -> list[Credential]:
    horizon = now + timedelta(days=max(REMINDER_STEPS_DAYS))
    return list(Credential.objects.filter(
        revoked_at__isnull=True, suspended_at__isnull=True, superseded_by__isnull=True,
        valid_until__gt=now, valid_until__lte=horizon,
    ).select_related("program__exam", "user").order_by("valid_until", "pk"))


def send_renewal_reminders(now: datetime | None = None) -> int:
    """Email the reminders that are due (see the module's guarantees). Idempotent: running it
    twice on the same day sends nothing more. Returns how many emails were sent. A failed
    send raises after the reminders before it were recorded (the job retries the rest)."""
    current = now or timezone.now()
    sent = 0
    for credential in _reminder_candidates(current):
        days = _step_due(credential, current)
        if days is None or RenewalReminder.objects.filter(
                credential=credential, days_before__lte=days).exists():
            continue
        subject, body = _reminder_email(credential, days)
        try:
            with transaction.atomic():
                RenewalReminder.objects.create(credential=credential, days_before=days,
                                               sent_at=current)
                send_mail(subject, body, None, [credential.user.email])
        except IntegrityError:
            continue  # a concurrent run recorded (and sent) this step
        sent += 1
    return sent


def _run_at(day: datetime) -> datetime:
    return datetime.combine(day.date(), REMINDER_RUN_AT, tzinfo=ZoneInfo("UTC"))


def _enqueue_for(day: datetime) -> Job:
    run_after = _run_at(day)
    return jobs.enqueue(REMINDER_JOB, {"date": run_after.date().isoformat()},
                        dedupe_key=f"{REMINDER_JOB}:{run_after.date().isoformat()}",
                        run_after=run_after)


def schedule_reminders(now: datetime | None = None) -> Job:
    """Make sure a reminder run is pending: today's if it has not run yet, else tomorrow's.
    Cheap (one or two queries when one is pending) and idempotent (dedupe key per date)."""
    current = (now or timezone.now()).astimezone(ZoneInfo("UTC"))
    pending = (Job.objects.filter(kind=REMINDER_JOB,
                                  state__in=[Job.State.QUEUED, Job.State.RUNNING])
               .order_by("available_at").first())
    if pending is not None:
        return pending
    today = _enqueue_for(current)
    if today.state in (Job.State.DONE, Job.State.FAILED):
        return _enqueue_for(current + timedelta(days=1))
    return today


def run_daily_reminders(now: datetime | None = None) -> dict[str, int | str]:
    """The daily job: enqueue tomorrow's run first (so a failure here never breaks the
    chain), then send what is due."""
    current = (now or timezone.now()).astimezone(ZoneInfo("UTC"))
    following = _enqueue_for(current + timedelta(days=1))
    sent = send_renewal_reminders(current)
    return {"sent": sent, "next_run": following.available_at.isoformat()}


# ----------------------------------------------------------------------------- major releases


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


def mark_renewal_due(release: Release, package: Package) -> None:
    """Catalog package writer: when ``release`` is a major release of its package (its major
    above every earlier release's), ask the holders of valid credentials certified on older
    content to renew: credentials of programs whose courses include the package, and
    credentials naming an earlier release of this package (the count is logged)."""
    earlier = list(Release.objects.filter(package_id=release.package_id)
                   .exclude(pk=release.pk).values_list("version", flat=True))
    if not earlier or _major(release.version) <= max(_major(v) for v in earlier):
        return
    scope = Q(release__package_id=release.package_id)
    if package.course is not None:
        slug = package.course.slug
        programs = [program.pk for program in Program.objects.only("pk", "course_slugs")
                    if slug in program.course_slugs]
        scope |= Q(program_id__in=programs)
    reason = (f"Major release {release.version} of {package.meta.title}: renew to certify "
              f"the current content")[:200]
    marked = Credential.objects.filter(scope).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now()),
        revoked_at__isnull=True, superseded_by__isnull=True,
    ).exclude(release_id=release.pk).update(renewal_due=reason)
    if marked:
        logger.info("%s: %d credential(s) marked for renewal", reason, marked)
