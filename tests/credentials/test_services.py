"""Issuing, status and verification through the credentials services, against a real exam pass
(the fixture exam of tests/assessment), with the reference JavaScript verifier agreeing on each
case: valid, changed, revoked, suspended, expired, and after a key rotation."""

from __future__ import annotations

import copy
import io
import json
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.management import call_command
from django.utils import timezone

from tests.assessment.test_certification import PROGRAM, import_exam, take
from tests.credentials.conftest import Reference
from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.assessment import certification as cert
from upskill.assessment.models import ExamAttempt
from upskill.catalog.models import Skill
from upskill.core import jobs
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Job
from upskill.credentials import keys, openbadges, services
from upskill.credentials.models import Credential, IssuerKey, StatusChange, StatusList
from upskill.credentials.multibase import encode_multikey
from upskill.labs import services as labs

pytestmark = pytest.mark.django_db


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def key_dir(settings: Any, tmp_path: Path) -> Path:
    """Each test gets its own key directory and the embedded defaults."""
    settings.CREDENTIALS_KEY_DIR = tmp_path / "keys"
    settings.CREDENTIALS_KEY_FILE = ""
    settings.CREDENTIALS_DOMAIN = ""
    settings.PUBLIC_URL = "https://learn.example.test"
    settings.PRODUCTION = False
    return tmp_path / "keys"


@pytest.fixture
def exam(content_root: Path) -> Any:
    return import_exam(content_root, "adaptive")


@pytest.fixture
def passed(exam: Any, make_user: Callable[..., User]) -> Callable[..., ExamAttempt]:
    """A function that makes a new learner pass the exam; returns the finished attempt."""

    def pass_exam(user: User | None = None) -> ExamAttempt:
        candidate = user or make_user()
        return take(candidate, cert.start_exam(candidate, PROGRAM).pk, lambda p: True)

    return pass_exam


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    person = make_user("staff@example.test")
    accounts.grant_role(None, person, PlatformRole.STAFF)
    return person


def issue_job(attempt: ExamAttempt) -> Job:
    return Job.objects.get(dedupe_key=f"{services.ISSUE_JOB}:attempt:{attempt.pk}")


def issued(attempt: ExamAttempt) -> Credential:
    """Run the job finishing the exam queued, as a worker would."""
    assert jobs.run_job(issue_job(attempt).pk) == "done"
    return Credential.objects.get(exam_attempt=attempt)


def document_of(credential: Credential) -> dict[str, Any]:
    return json.loads(credential.document)


def our_lists() -> list[dict[str, Any]]:
    return [json.loads(status.signed) for status in StatusList.objects.all()]


def js_request(reference: Reference, credential: Credential | dict[str, Any],
               **options: Any) -> dict[str, Any]:
    document = document_of(credential) if isinstance(credential, Credential) else credential
    options.setdefault("status_lists", our_lists())
    return reference.request(document, now=timezone.now() + timedelta(minutes=1), **options)


# ----------------------------------------------------------------------------- issuing


class TestIssuing:
    def test_a_pass_queues_one_job_and_the_job_issues_one_credential(self, passed):
        attempt = passed()
        job = issue_job(attempt)
        assert job.state == Job.State.QUEUED

        credential = issued(attempt)
        again = services.issue_credential(attempt.pk)  # a repeated run (lost lease)
        requeued = services.issue_for_exam_attempt(attempt.pk)

        assert again.pk == credential.pk
        assert requeued.pk == job.pk
        assert Credential.objects.count() == 1
        assert Job.objects.filter(kind=services.ISSUE_JOB).count() == 1

    def test_a_failed_exam_issues_nothing(self, exam, make_user):
        learner = make_user()
        attempt = take(learner, cert.start_exam(learner, PROGRAM).pk, lambda p: False)
        assert attempt.passed is False
        assert not Job.objects.filter(kind=services.ISSUE_JOB).exists()
        with pytest.raises(Invalid):
            services.issue_credential(attempt.pk)
        assert not Credential.objects.exists()

    def test_the_credential_says_what_was_certified_and_nothing_private(self, passed, exam):
        Skill.objects.filter(slug="sql-querying").update(
            esco_uri="http://data.europa.eu/esco/skill/sql-test")
        attempt = passed()
        credential = issued(attempt)
        document = document_of(credential)
        achievement = document["credentialSubject"]["achievement"]

        assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert document["id"] == f"urn:uuid:{credential.public_id}"
        assert achievement["achievementType"] == "Certification"
        assert achievement["name"] == "Data analyst certificate"
        assert achievement["version"] == exam.release.version == "1.0.0"
        assert "Reading data (40%)" in achievement["criteria"]["narrative"]
        aligned = {a["targetName"]: a for a in achievement["alignment"]}
        assert aligned["Querying data with SQL"]["targetUrl"] == \
            "http://data.europa.eu/esco/skill/sql-test"
        assert aligned["Querying data with SQL"]["targetFramework"] == "ESCO"
        assert aligned["Data literacy"]["targetUrl"] == \
            "https://learn.example.test/skills/data-literacy/"
        results = {r["resultDescription"].rsplit("#")[1]: r
                   for r in document["credentialSubject"]["result"]}
        assert results["outcome"]["value"] == "Pass"
        assert results["score-band"]["value"] in services.SCORE_BANDS
        assert document["credentialSubject"]["id"].startswith("urn:uuid:")
        assert attempt.user.email not in credential.document
        assert {entry["statusPurpose"] for entry in document["credentialStatus"]} == \
            {"revocation", "suspension"}
        assert document["issuer"]["id"].startswith("did:key:z6Mk")

    def test_validity_runs_from_the_finish_for_the_exams_months(self, passed):
        attempt = passed()
        credential = issued(attempt)
        document = document_of(credential)
        expected = cert.valid_until(attempt).replace(microsecond=0)
        assert credential.valid_until == expected
        assert document["validUntil"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert credential.valid_from == attempt.finished_at.replace(microsecond=0)

    def test_the_same_learner_keeps_one_subject_id(self, passed, make_user, exam):
        learner = make_user()
        first = document_of(issued(passed(learner)))
        # Issued again (say, after the first was withdrawn): the same subject, a new credential.
        ExamAttempt.objects.filter(user=learner).update(
            finished_at=timezone.now() - timedelta(days=400),
            started_at=timezone.now() - timedelta(days=400))
        Credential.objects.all().delete()
        second = document_of(services.issue_credential(
            ExamAttempt.objects.get(user=learner).pk))
        assert first["credentialSubject"]["id"] == second["credentialSubject"]["id"]
        assert first["id"] != second["id"]

    def test_graded_projects_become_evidence_links(self, passed, monkeypatch):
        lab = SimpleNamespace(slug="card-fraud", title="Card fraud detection")
        item = SimpleNamespace(lab=lab, metric_label="AUC", public_score=0.912345, passed=True)
        failed = SimpleNamespace(lab=SimpleNamespace(slug="churn", title="Churn"),
                                 metric_label="AUC", public_score=0.4, passed=False)
        monkeypatch.setattr(labs, "portfolio_items", lambda user: [item, failed])
        document = document_of(issued(passed()))
        assert document["evidence"] == [{
            "id": "https://learn.example.test/labs/card-fraud/", "type": ["Evidence"],
            "name": "Card fraud detection",
            "narrative": "Graded project: AUC 0.912 on the public test set, scored by Upskill's "
                         "trusted grader.",
            "genre": "Project"}]

    def test_a_document_that_would_not_be_fully_signed_is_refused(self, passed, monkeypatch):
        attempt = passed()
        original = openbadges.achievement_credential

        def with_stray_property(**arguments: Any) -> dict[str, Any]:
            document = original(**arguments)
            document["credentialSubject"]["nickname"] = "not in any context"
            return document

        monkeypatch.setattr(openbadges, "achievement_credential", with_stray_property)
        with pytest.raises(Invalid, match="nickname"):
            services.issue_credential(attempt.pk)
        assert not Credential.objects.exists()
        # The job fails with that reason (after its attempts), it does not issue.
        job = issue_job(attempt)
        assert jobs.run_job(job.pk) in {"retry", "failed"}
        assert "nickname" in Job.objects.get(pk=job.pk).last_error


# ----------------------------------------------------------------------------- verification


@pytest.mark.slow
class TestAgreementWithTheReference:
    def test_issued_valid_changed_revoked_suspended_lifted(self, passed, staff, reference):
        credential = issued(passed())
        valid = document_of(credential)
        changed = copy.deepcopy(valid)
        changed["credentialSubject"]["achievement"]["name"] = "Senior data analyst certificate"

        ours_valid = services.verify_document(valid)
        ours_changed = services.verify_document(changed)
        js_valid, js_changed = reference.verify_many(
            [js_request(reference, valid), js_request(reference, changed)])

        assert ours_valid.valid and ours_valid.status == "valid", ours_valid.errors
        assert js_valid["verified"] and js_valid["status"] == {
            "revoked": False, "suspended": False, "verified": True}
        assert not ours_changed.valid and ours_changed.status == "invalid"
        assert not js_changed["verified"]

        services.suspend(staff, credential.public_id, "Under review: reported by an employer")
        js_suspended = reference.verify(valid, **_options(reference))
        assert services.verify_document(valid).status == "suspended"
        assert js_suspended["status"]["suspended"] and not js_suspended["status"]["revoked"]

        services.lift_suspension(staff, credential.public_id, "Review found nothing wrong")
        assert services.verify_document(valid).status == "valid"
        assert reference.verify(valid, **_options(reference))["status"]["suspended"] is False

        services.revoke(staff, credential.public_id, "Exam misconduct confirmed")
        js_revoked = reference.verify(valid, **_options(reference))
        assert services.verify_document(valid).status == "revoked"
        assert services.credential_report(credential.public_id).status == "revoked"
        assert js_revoked["status"]["revoked"] is True
        assert js_revoked["verified"]  # pitfall 7: the status is separate

    def test_an_expired_credential_is_rejected_as_expired_by_both(self, passed, reference):
        attempt = passed()
        ExamAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=timezone.now() - timedelta(days=3 * 365))
        document = document_of(issued(attempt))

        ours = services.verify_document(document)
        js = reference.verify(document, **_options(reference))

        assert ours.status == "expired" and not ours.valid and ours.proof_verified
        assert not js["verified"] and js["expired"], js["errors"]

    def test_did_web_rotation_keeps_old_credentials_verifiable(self, passed, staff, settings,
                                                               reference):
        settings.CREDENTIALS_DOMAIN = "learn.example.test"
        before = issued(passed())
        old_key = IssuerKey.objects.get(is_current=True)
        rotated = services.rotate_key(staff)
        after = issued(passed())
        did_document = services.did_json()

        assert before.issuer == after.issuer == "did:web:learn.example.test"
        assert before.issuer_key == old_key and after.issuer_key == rotated
        assert [m["id"] for m in did_document["verificationMethod"]] == [
            "did:web:learn.example.test#key-1", "did:web:learn.example.test#key-2"]
        services.revoke(staff, before.public_id, "Revoked after the rotation")
        documents = [document_of(before), document_of(after)]
        js = reference.verify_many([js_request(reference, d, did_documents=[did_document])
                                    for d in documents])

        assert [services.verify_document(d).status for d in documents] == ["revoked", "valid"]
        assert all(result["verified"] for result in js), js
        assert [result["status"]["revoked"] for result in js] == [True, False]

    def test_did_key_rotation_keeps_old_credentials_and_their_status(self, passed, staff,
                                                                     reference):
        before = issued(passed())
        services.rotate_key(None)
        after = issued(passed())

        assert before.issuer != after.issuer  # did:key changes with the key
        assert before.revocation_list != after.revocation_list  # lists are per issuer
        services.suspend(staff, before.public_id, "Checking an old credential")
        documents = [document_of(before), document_of(after)]
        js = reference.verify_many([js_request(reference, d) for d in documents])

        assert [services.verify_document(d).status for d in documents] == ["suspended", "valid"]
        assert [result["status"]["suspended"] for result in js] == [True, False]
        assert all(result["status"]["verified"] for result in js), js


def _options(reference: Reference) -> dict[str, Any]:
    return {"status_lists": our_lists(), "now": timezone.now() + timedelta(minutes=1)}


class TestVerifyingAnything:
    @pytest.mark.parametrize("junk", [None, [], "text", 12, {}, {"proof": 5},
                                      {"@context": 7, "proof": {"proofValue": "z!!"}}])
    def test_junk_is_invalid_never_an_exception(self, junk):
        report = services.verify_document(junk)
        assert report.status == "invalid" and not report.valid and report.errors

    def test_foreign_status_lists_are_not_checked(self, passed):
        document = document_of(issued(passed()))
        key = Ed25519PrivateKey.generate()
        from upskill.credentials import did, proofs

        unsigned = {k: v for k, v in document.items() if k != "proof"}
        unsigned["issuer"] = {**unsigned["issuer"], "id": did.did_key_of(key.public_key())}
        for entry in unsigned["credentialStatus"]:
            entry["statusListCredential"] = "https://elsewhere.example/status/1"
            entry["id"] = "https://elsewhere.example/status/1#5"
        foreign = proofs.sign(unsigned, key, did.did_key_verification_method(key.public_key()),
                              timezone.now())

        report = services.verify_document(foreign)
        assert report.status == "not checked" and not report.valid
        assert report.proof_verified and "not ours" in report.warnings[0]

    def test_the_public_report_reads_our_records(self, passed, staff, make_user):
        learner = make_user(display_name="Ada Lovelace")
        credential = issued(passed(learner))
        report = services.credential_report(credential.public_id)
        assert report.status == "valid" and report.verification.valid
        assert report.holder_name == "Ada Lovelace"
        assert report.program_title == "Data analyst certificate"
        assert {skill.name for skill in report.verification.skills} == \
            {"Data literacy", "Querying data with SQL"}
        assert report.json_url == \
            f"https://learn.example.test/credentials/{credential.public_id}.json"
        with pytest.raises(NotFound):
            services.credential_report("not-a-uuid")


# ----------------------------------------------------------------------------- status rules


class TestStatusChanges:
    def test_only_staff_with_a_reason_and_every_change_is_logged(self, passed, staff,
                                                                 make_user):
        owner = make_user()
        credential = issued(passed(owner))
        stranger = make_user()
        for person in (owner, stranger):
            with pytest.raises(PermissionDenied):
                services.revoke(person, credential.public_id, "I want to")
            with pytest.raises(PermissionDenied):
                services.status_history(person, credential.public_id)
        for reason in ("", "   "):
            with pytest.raises(Invalid):
                services.suspend(staff, credential.public_id, reason)

        services.suspend(staff, credential.public_id, "Reported")
        with pytest.raises(Conflict):
            services.suspend(staff, credential.public_id, "Again")
        services.lift_suspension(staff, credential.public_id, "Cleared")
        services.revoke(staff, credential.public_id, "Misconduct")
        with pytest.raises(Conflict):
            services.lift_suspension(staff, credential.public_id, "Undo?")

        history = services.status_history(staff, credential.public_id)
        assert [(c.purpose, c.action, c.reason, c.actor) for c in history] == [
            ("suspension", "set", "Reported", staff),
            ("suspension", "cleared", "Cleared", staff),
            ("revocation", "set", "Misconduct", staff),
        ]
        assert StatusChange.objects.count() == 3

    def test_a_status_change_flips_exactly_its_bit_and_re_signs_the_list(self, passed, staff):
        first, second = issued(passed()), issued(passed())
        before = json.loads(first.revocation_list.signed)
        services.revoke(staff, first.public_id, "Misconduct")
        after = json.loads(StatusList.objects.get(pk=first.revocation_list_id).signed)

        from upskill.credentials import status_list

        assert before["proof"] != after["proof"]
        bits = status_list.decode(after["credentialSubject"]["encodedList"])
        assert status_list.get_bit(bits, first.revocation_index)
        assert not status_list.get_bit(bits, second.revocation_index)
        assert services.verify_document(document_of(second)).status == "valid"

    def test_a_learner_sees_only_their_own_credentials(self, passed, make_user):
        ada, grace = make_user(), make_user()
        mine = issued(passed(ada))
        issued(passed(grace))
        assert [c.public_id for c in services.credentials_of(ada)] == [mine.public_id]


# ----------------------------------------------------------------------------- keys


class TestKeys:
    def test_the_embedded_key_is_generated_once_into_a_private_file(self, key_dir):
        key = keys.current_key()
        path = key_dir / "issuer-key-1.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert keys.current_key() == key
        assert IssuerKey.objects.count() == 1
        assert keys.signing_identity().issuer == f"did:key:{key.public_key_multibase}"

    def test_production_refuses_to_generate_a_key_and_the_job_says_why(self, settings,
                                                                        passed, key_dir):
        attempt = passed()
        settings.PRODUCTION = True
        with pytest.raises(keys.KeyUnavailable, match="UPSKILL_CREDENTIALS_KEY_FILE"):
            keys.current_key()
        assert jobs.run_job(issue_job(attempt).pk) in {"retry", "failed"}
        assert "UPSKILL_CREDENTIALS_KEY_FILE" in issue_job(attempt).last_error
        assert not key_dir.exists() or not any(key_dir.iterdir())
        assert not Credential.objects.exists()

        # The operator provides the key file; the command issues what the job could not.
        path = key_dir.parent / "issuer.pem"
        path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        settings.CREDENTIALS_KEY_FILE = str(path)
        call_command("credentials", "issue-missing", stdout=io.StringIO())
        assert Credential.objects.get().exam_attempt == attempt
        assert services.issue_missing() == []

    def test_production_reads_the_key_file(self, settings, tmp_path, passed):
        secret = Ed25519PrivateKey.generate()
        path = tmp_path / "issuer.pem"
        path.write_bytes(secret.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                              NoEncryption()))
        settings.PRODUCTION = True
        settings.CREDENTIALS_KEY_FILE = str(path)
        settings.CREDENTIALS_DOMAIN = "learn.example.test"
        credential = issued(passed())
        assert credential.issuer_key.public_key_multibase == encode_multikey(secret.public_key())
        assert document_of(credential)["proof"]["verificationMethod"] == \
            "did:web:learn.example.test#key-1"
        assert services.verify_document(document_of(credential)).valid

        # Rotation: the operator replaces the file, then registers the new key.
        replacement = Ed25519PrivateKey.generate()
        path.write_bytes(replacement.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                   NoEncryption()))
        with pytest.raises(keys.KeyUnavailable, match="rotate-key"):
            keys.signing_identity()
        services.rotate_key(None)
        with pytest.raises(Conflict):
            services.rotate_key(None)  # the file still holds the now current key
        assert services.verify_document(document_of(credential)).valid

    def test_a_key_file_that_is_not_ed25519_is_named(self, settings, tmp_path):
        path = tmp_path / "junk.pem"
        path.write_text("not a key")
        settings.CREDENTIALS_KEY_FILE = str(path)
        with pytest.raises(keys.KeyUnavailable, match="UPSKILL_CREDENTIALS_KEY_FILE"):
            keys.current_key()

    def test_rotating_needs_staff(self, make_user):
        with pytest.raises(PermissionDenied):
            services.rotate_key(make_user())

    def test_no_did_web_document_without_a_domain(self):
        with pytest.raises(NotFound):
            services.did_json()
