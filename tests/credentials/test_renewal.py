"""Renewal of credentials: reminders before expiry (once per step, never for credentials that
no longer need one), the shorter renewal exam inside its window, the renewed credential
superseding the old one (which stays verifiable until its own expiry, without losing time), and
major content releases asking holders to renew."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django.utils import timezone as django_timezone

from tests.assessment.test_certification import PROGRAM, Clock, take
from tests.content_fixtures import exam_yaml, package_yaml, write, write_exam_bank
from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.assessment import certification as cert
from upskill.assessment.models import Exam, ExamAttempt, ExamForm, Purpose
from upskill.catalog import services as catalog
from upskill.core import jobs
from upskill.core.errors import Conflict
from upskill.core.models import Job
from upskill.credentials import keys, proofs, renewal, services
from upskill.credentials.models import Credential, RenewalReminder

pytestmark = pytest.mark.django_db

RENEWAL_LENGTH = {"adaptive": (5, 8), "fixed": (6, 6)}
WINDOW_DAYS = 90
# A pass this many days ago (valid 24 months) leaves about a month before expiry: inside the
# window; this recent a pass leaves about 21 months: outside it.
INSIDE_WINDOW_DAYS_AGO = 700
OUTSIDE_WINDOW_DAYS_AGO = 100


@pytest.fixture(autouse=True)
def key_dir(settings: Any, tmp_path: Path) -> Path:
    settings.CREDENTIALS_KEY_DIR = tmp_path / "keys"
    settings.CREDENTIALS_KEY_FILE = ""
    settings.CREDENTIALS_DOMAIN = ""
    settings.PUBLIC_URL = "https://learn.example.test"
    settings.PRODUCTION = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return tmp_path / "keys"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(cert, "now", fake)
    return fake


def exam_file(form: str, version: str = "1.0.0") -> tuple[str, str]:
    low, high = RENEWAL_LENGTH[form]
    length = {"min_items": 6, "max_items": 12} if form == "adaptive" else \
        {"min_items": 10, "max_items": 10}
    text = exam_yaml(form, **length) + (  # type: ignore[arg-type]
        f"renewal:\n  items: {{min: {low}, max: {high}}}\n  window_days: {WINDOW_DAYS}\n")
    return text, version


def import_renewable(root: Path, form: str = "adaptive", version: str = "1.0.0") -> Exam:
    text, version = exam_file(form, version)
    write_exam_bank(root, text, version=version)
    report = catalog.import_content(root)
    assert report.ok, report.problems
    exam = Exam.objects.get()
    cert.prepare_exam(exam.pk)
    exam.refresh_from_db()
    return exam


@pytest.fixture(params=["adaptive", "fixed"])
def exam(request: pytest.FixtureRequest, content_root: Path) -> Exam:
    return import_renewable(content_root, request.param)


@pytest.fixture
def adaptive_exam(content_root: Path) -> Exam:
    return import_renewable(content_root, "adaptive")


def issued(attempt: ExamAttempt) -> Credential:
    """Run the issuing job that a pass queued, as a worker would."""
    job = Job.objects.get(dedupe_key=f"{services.ISSUE_JOB}:attempt:{attempt.pk}")
    assert jobs.run_job(job.pk) == "done", Job.objects.get(pk=job.pk).last_error
    return Credential.objects.get(exam_attempt=attempt)


@pytest.fixture
def holder(make_user: Callable[..., User], clock: Clock) -> Callable[..., Credential]:
    """A learner who passed the exam ``days_ago`` days ago (the clock is back at the present
    afterwards) and holds its credential."""
    present = clock.at

    def hold(days_ago: int = INSIDE_WINDOW_DAYS_AGO, user: User | None = None) -> Credential:
        learner = user or make_user()
        clock.at = present - timedelta(days=days_ago)
        attempt = take(learner, cert.start_exam(learner, PROGRAM).pk, lambda p: True)
        clock.at = present
        assert attempt.passed
        return issued(attempt)

    return hold


def renew(user: User, *, right: bool = True) -> ExamAttempt:
    attempt = cert.start_exam(user, PROGRAM, purpose=Purpose.RENEWAL)
    return take(user, attempt.pk, lambda p: right)


def reloaded(credential: Credential) -> Credential:
    return Credential.objects.get(pk=credential.pk)


# ----------------------------------------------------------------------------- reminders


class TestReminders:
    def test_one_email_per_step_at_90_30_and_7_days(self, adaptive_exam, holder):
        credential = holder(days_ago=0)
        assert credential.valid_until is not None
        expiry = credential.valid_until

        def run(days_before: float) -> int:
            return renewal.send_renewal_reminders(expiry - timedelta(days=days_before))

        assert run(91) == 0
        assert run(89.9) == 1
        assert run(89) == 0  # the same step is never sent twice
        assert run(31) == 0
        assert run(29.9) == 1
        assert run(29.9) == 0
        assert run(6.9) == 1
        assert run(1) == 0
        assert run(-1) == 0  # expired: nothing more
        assert sorted(RenewalReminder.objects.filter(credential=credential)
                      .values_list("days_before", flat=True)) == [7, 30, 90]
        assert len(mail.outbox) == 3
        message = mail.outbox[-1]
        assert message.to == [credential.user.email]
        assert f"https://learn.example.test/exams/{PROGRAM}/" in message.body
        assert expiry.date().isoformat() in message.body
        assert "renewal exam" in message.body

    def test_missed_steps_send_one_email_for_the_most_urgent(self, adaptive_exam, holder):
        credential = holder(days_ago=0)
        assert credential.valid_until is not None
        # The worker was down for months: one email, the 7-day one, not three at once.
        assert renewal.send_renewal_reminders(credential.valid_until - timedelta(days=5)) == 1
        assert list(RenewalReminder.objects.values_list("days_before", flat=True)) == [7]

    def test_no_reminder_for_revoked_superseded_or_expired_credentials(
            self, adaptive_exam, holder, make_user):
        staff = make_user("staff@example.test")
        accounts.grant_role(None, staff, PlatformRole.STAFF)
        revoked = holder(days_ago=INSIDE_WINDOW_DAYS_AGO)
        services.revoke(staff, revoked.public_id, "Exam fraud.")
        superseded = holder(days_ago=INSIDE_WINDOW_DAYS_AGO)
        issued(renew(superseded.user))
        kept = holder(days_ago=INSIDE_WINDOW_DAYS_AGO)
        assert reloaded(superseded).superseded_by is not None
        assert kept.valid_until is not None

        renewal.send_renewal_reminders(kept.valid_until - timedelta(days=1))
        after_expiry = renewal.send_renewal_reminders(kept.valid_until + timedelta(days=1))

        assert [message.to for message in mail.outbox] == [[kept.user.email]]
        assert after_expiry == 0
        assert set(RenewalReminder.objects.values_list("credential", flat=True)) == {kept.pk}

    def test_the_daily_job_runs_and_schedules_the_next_day(self, adaptive_exam, holder):
        holder(days_ago=0)  # issuing makes sure a run is pending
        pending = Job.objects.get(kind=renewal.REMINDER_JOB)
        assert pending.state == Job.State.QUEUED
        Job.objects.filter(pk=pending.pk).update(available_at=timezone.now())

        assert jobs.run_job(pending.pk) == "done"

        following = Job.objects.get(kind=renewal.REMINDER_JOB, state=Job.State.QUEUED)
        day = datetime.fromisoformat(pending.payload["date"]).date()
        assert following.payload == {"date": (day + timedelta(days=1)).isoformat()}
        assert following.available_at > timezone.now()
        # Scheduling again (another credential issued) adds nothing: one run is pending.
        assert renewal.schedule_reminders().pk == following.pk

    def test_operators_can_send_them_now(self, adaptive_exam, holder, capsys):
        call_command("credentials", "send-reminders")
        assert "Sent 0 renewal reminder(s)." in capsys.readouterr().out


# ----------------------------------------------------------------------------- the renewal exam


class TestRenewalExam:
    def test_renewal_opens_only_inside_the_window(self, adaptive_exam, holder):
        early = holder(days_ago=OUTSIDE_WINDOW_DAYS_AGO)
        overview = cert.exam_overview(early.user, PROGRAM)
        assert overview.renewal is not None and not overview.renewal_available
        assert overview.renewal.opens_at is not None
        assert "Renewal opens on" in overview.renewal_reasons[0]
        with pytest.raises(Conflict, match="Renewal opens on"):
            cert.start_exam(early.user, PROGRAM, purpose=Purpose.RENEWAL)
        with pytest.raises(Conflict, match="passed"):
            cert.start_exam(early.user, PROGRAM)

        due = holder(days_ago=INSIDE_WINDOW_DAYS_AGO)
        overview = cert.exam_overview(due.user, PROGRAM)
        assert overview.renewal_available, overview.renewal_reasons
        assert overview.renewal_items == RENEWAL_LENGTH["adaptive"]
        assert overview.renewal_time_limit_seconds is not None
        assert overview.renewal_time_limit_seconds < overview.time_limit_seconds
        attempt = cert.start_exam(due.user, PROGRAM, purpose=Purpose.RENEWAL)
        assert attempt.purpose == Purpose.RENEWAL
        assert attempt.time_limit_seconds == overview.renewal_time_limit_seconds

    def test_a_renewal_is_shorter_and_passing_it_supersedes_the_old_credential(
            self, exam, holder):
        old = holder()
        old_document = old.document
        low, high = RENEWAL_LENGTH[exam.form_kind]

        attempt = renew(old.user)
        assert attempt.passed and attempt.purpose == Purpose.RENEWAL
        assert attempt.n_items is not None and low <= attempt.n_items <= high < exam.max_items
        if exam.form_kind == Exam.Form.FIXED:
            assert attempt.form is not None and attempt.form.purpose == Purpose.RENEWAL
        new = issued(attempt)
        old = reloaded(old)

        assert old.superseded_by == new
        assert old.document == old_document  # signed: never rewritten
        assert services.credential_report(old.public_id).status == "superseded"
        assert services.credential_report(new.public_id).status == "valid"
        # Renewed a month early: the new validity counts from the old expiry.
        assert old.valid_until is not None
        assert new.valid_until == cert.add_months(old.valid_until, exam.valid_months)
        assert json.loads(new.document)["validFrom"] == \
            proofs.format_xsd_datetime(attempt.finished_at.replace(microsecond=0))

    def test_the_superseded_credential_verifies_until_it_expires(
            self, adaptive_exam, holder, monkeypatch):
        old = holder()
        issued(renew(old.user))
        old = reloaded(old)
        assert old.valid_until is not None
        document = json.loads(old.document)

        before = proofs.verify(document, keys.resolver(), now=old.valid_until - timedelta(days=1))
        after = proofs.verify(document, keys.resolver(), now=old.valid_until + timedelta(days=1))
        assert before.verified and not before.expired
        assert after.proof_verified and after.expired and not after.verified

        later = old.valid_until + timedelta(days=1)
        monkeypatch.setattr(django_timezone, "now", lambda: later)
        report = services.credential_report(old.public_id)
        assert report.status == "expired"
        assert report.superseded_by == old.superseded_by.public_id

    def test_a_failed_renewal_leaves_the_old_credential_untouched(self, adaptive_exam, holder):
        old = holder()
        attempt = renew(old.user, right=False)
        assert attempt.passed is False
        assert not Job.objects.filter(
            dedupe_key=f"{services.ISSUE_JOB}:attempt:{attempt.pk}").exists()
        again = reloaded(old)
        assert (again.superseded_by, again.valid_until, again.document) == \
            (None, old.valid_until, old.document)
        assert services.credential_report(old.public_id).status == "valid"
        with pytest.raises(Conflict, match="renewal exam again from"):
            cert.start_exam(old.user, PROGRAM, purpose=Purpose.RENEWAL)

    def test_nobody_renews_someone_elses_credential(self, adaptive_exam, holder, make_user):
        theirs = holder()
        stranger = make_user()
        assert cert.exam_overview(stranger, PROGRAM).renewal is None
        with pytest.raises(Conflict, match="no credential"):
            cert.start_exam(stranger, PROGRAM, purpose=Purpose.RENEWAL)
        # The stranger's own pass is theirs: it supersedes nothing of the holder's.
        issued(take(stranger, cert.start_exam(stranger, PROGRAM).pk, lambda p: True))
        assert reloaded(theirs).superseded_by is None

    def test_renewal_forms_are_assembled_to_the_blueprint(self, content_root):
        exam = import_renewable(content_root, "fixed")
        forms = ExamForm.objects.filter(exam=exam, purpose=Purpose.RENEWAL, active=True)
        assert forms.exists()
        blueprint = cert.renewal_blueprint(exam)
        assert [area.min_items for area in blueprint.areas] == [1, 1]  # 2 and 3, x 6/10
        for form in forms:
            assert len(form.item_ids) == RENEWAL_LENGTH["fixed"][0]


# ----------------------------------------------------------------------------- major releases


class TestMajorRelease:
    def test_a_major_exam_release_makes_renewal_available_at_once(
            self, content_root, holder):
        import_renewable(content_root, "adaptive")
        credential = holder(days_ago=OUTSIDE_WINDOW_DAYS_AGO)
        assert not cert.exam_overview(credential.user, PROGRAM).renewal_available

        exam = import_renewable(content_root, "adaptive", version="2.0.0")

        marked = reloaded(credential)
        assert marked.renewal_due == ("Major release 2.0.0 of Exam Bank: renew to certify the "
                                      "current content")
        overview = cert.exam_overview(credential.user, PROGRAM)
        assert overview.renewal_available, overview.renewal_reasons
        assert overview.renewal is not None and overview.renewal.reason == marked.renewal_due
        new = issued(renew(credential.user))
        assert new.release == exam.release and new.renewal_due == ""
        # Renewed long before expiry: nothing is lost, the old expiry is the new start.
        assert marked.valid_until is not None
        assert new.valid_until == cert.add_months(marked.valid_until, exam.valid_months)

    def test_a_major_course_release_marks_the_programs_credentials(
            self, content_root, holder):
        import_renewable(content_root, "adaptive")
        credential = holder(days_ago=OUTSIDE_WINDOW_DAYS_AGO)
        write(content_root / "sql-basics" / "package.yaml", package_yaml("sql-basics", "2.0.0"))
        assert catalog.import_content(content_root).ok
        assert reloaded(credential).renewal_due.startswith("Major release 2.0.0 of Sql Basics")

    def test_a_minor_release_marks_nothing(self, content_root, holder):
        import_renewable(content_root, "adaptive")
        credential = holder(days_ago=OUTSIDE_WINDOW_DAYS_AGO)
        import_renewable(content_root, "adaptive", version="1.1.0")
        write(content_root / "sql-basics" / "package.yaml", package_yaml("sql-basics", "1.1.0"))
        assert catalog.import_content(content_root).ok
        assert reloaded(credential).renewal_due == ""
        assert not cert.exam_overview(credential.user, PROGRAM).renewal_available


def test_the_exam_page_offers_the_renewal_and_starts_it(adaptive_exam, holder, client_for):
    credential = holder()
    learner = credential.user
    page = client_for(learner).get(f"/exams/{PROGRAM}/")
    assert page.status_code == 200
    assert "Renew my credential" in page.content.decode()
    started = client_for(learner).post(f"/exams/{PROGRAM}/start/", {"purpose": "renewal"})
    assert started.status_code == 302
    attempt = ExamAttempt.objects.filter(user=learner).latest("started_at")
    assert attempt.purpose == Purpose.RENEWAL
    assert attempt.status == ExamAttempt.Status.IN_PROGRESS


def test_outside_the_window_the_page_offers_no_renewal(adaptive_exam, holder, client_for):
    credential = holder(days_ago=OUTSIDE_WINDOW_DAYS_AGO)
    page = client_for(credential.user).get(f"/exams/{PROGRAM}/")
    assert "Renew my credential" not in page.content.decode()
    refused = client_for(credential.user).post(f"/exams/{PROGRAM}/start/",
                                               {"purpose": "renewal"}, follow=True)
    assert "Renewal opens on" in refused.content.decode()
