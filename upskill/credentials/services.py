"""Public operations of credentials: issuing Open Badges 3.0 certifications, changing their
status, verifying any credential, and what the public pages and the VC-API show.

The documents and the cryptography are pure modules (:mod:`~upskill.credentials.openbadges`,
:mod:`~upskill.credentials.proofs`, :mod:`~upskill.credentials.status_list`,
:mod:`~upskill.credentials.did`); keys and the issuer's identity are in
:mod:`~upskill.credentials.keys`. Guarantees:

- One credential per passed exam attempt. Finishing an exam only enqueues the durable job
  ``credentials.issue`` (dedupe key per attempt); the job signs and stores. The unique
  attempt on ``Credential`` makes a job that runs twice store one credential.
- Nothing unsigned: a document in which any property would be dropped is refused
  (``Invalid`` naming it), never signed.
- A credential's signed JSON is stored and served as the exact text that was signed.
- Status changes are staff-only, need a reason, are logged (``StatusChange``) and flip the bit
  and re-sign the status list in the same transaction.
- Verification never raises on junk and never fetches anything: our did:web keys and status
  lists are read locally, any did:key is self-describing, anything else is "not checked" or
  unresolvable.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, Profile, User
from upskill.assessment import services as assessment
from upskill.assessment.models import ExamAttempt
from upskill.catalog.models import Program, RoleSkill
from upskill.core import jobs
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Job
from upskill.credentials import certificate, keys, openbadges, proofs, renewal, status_list
from upskill.credentials.models import (
    ApiIssuance,
    Credential,
    IssuerKey,
    Portfolio,
    Recipient,
    StatusChange,
    StatusList,
)
from upskill.labs import services as labs

__all__ = [
    "ISSUE_JOB",
    "CredentialReport",
    "CredentialSummary",
    "EvidenceLink",
    "SkillClaim",
    "Status",
    "VerificationReport",
    "credential_json",
    "credential_report",
    "credentials_of",
    "did_json",
    "issue_credential",
    "issue_document",
    "issue_for_exam_attempt",
    "issue_missing",
    "lift_suspension",
    "revoke",
    "rotate_key",
    "status_history",
    "status_list_json",
    "suspend",
    "verify_document",
]

ISSUE_JOB = "credentials.issue"
# Bands of a passing score on the exams' reported scale (assessment.reported_score).
SCALE_PASS = 500
SCORE_BANDS = ("500-599", "600-699", "700-799", "800-900")

Status = Literal["valid", "expired", "revoked", "suspended", "superseded", "invalid",
                 "not checked"]
Purpose = Literal["revocation", "suspension"]


# ----------------------------------------------------------------------------- public shapes


@dataclass(frozen=True)
class SkillClaim:
    """A skill a credential aligns with: its name and where it is defined."""

    name: str
    url: str
    framework: str | None


@dataclass(frozen=True)
class EvidenceLink:
    name: str
    url: str
    narrative: str | None


@dataclass(frozen=True)
class VerificationReport:
    """What :func:`verify_document` found, ready for a page or the VC-API.

    ``valid`` is True only for ``status == "valid"``. ``status`` is ``"not checked"`` when the
    proof and dates are good but the status lists are someone else's (we never fetch them).
    ``errors`` explain a failure; ``warnings`` things a reader should know. The descriptive
    fields are read from the document whether or not it verified (``None``/empty if absent).
    """

    valid: bool
    status: Status
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    proof_verified: bool = False
    issuer: str | None = None
    issuer_name: str | None = None
    name: str | None = None
    subject: str | None = None
    skills: list[SkillClaim] = field(default_factory=list)
    evidence: list[EvidenceLink] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True)
class CredentialSummary:
    """One of a person's credentials, for their own pages (portfolio, dashboard)."""

    public_id: uuid.UUID
    program_title: str
    issued_at: datetime
    valid_until: datetime | None
    status: Status
    json_url: str


@dataclass(frozen=True)
class CredentialReport:
    """The public verification page of one credential Upskill issued.

    ``status`` comes from our records (revoked, suspended, expired), unless the stored document
    itself no longer verifies, which makes it ``"invalid"``. Public by design: a holder shares
    the link so that anyone can check it. It carries the holder's display name, never their
    email address.
    """

    public_id: uuid.UUID
    status: Status
    holder_name: str
    program_title: str
    release_version: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    suspended_at: datetime | None
    superseded_by: uuid.UUID | None
    json_url: str
    verification: VerificationReport


# ----------------------------------------------------------------------------- URLs


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def _list_url(purpose: str, number: int) -> str:
    return _absolute(reverse("credentials:status_list", args=[purpose, number]))


def _json_url(public_id: uuid.UUID) -> str:
    return _absolute(reverse("credentials:json", args=[str(public_id)]))


def _our_list(url: str) -> tuple[str, int] | None:
    """(purpose, number) when ``url`` is one of our status lists."""
    prefix = _absolute(reverse("credentials:status_list", args=["revocation", 1]))[
        : -len("revocation/1")]
    match = re.fullmatch(r"(revocation|suspension)/([1-9][0-9]{0,8})", url.removeprefix(prefix)) \
        if url.startswith(prefix) else None
    return (match.group(1), int(match.group(2))) if match else None


# ----------------------------------------------------------------------------- issuing


def issue_for_exam_attempt(attempt_id: int) -> Job:
    """Schedule the credential of a passed exam attempt (job ``credentials.issue``).

    Cheap and safe to call inside the transaction that records the pass: it only writes the
    job row (the worker is woken after commit). Idempotent: one job per attempt."""
    return jobs.enqueue(ISSUE_JOB, {"attempt": attempt_id},
                        dedupe_key=f"{ISSUE_JOB}:attempt:{attempt_id}")


def _subject_id(user: User) -> str:
    recipient, _created = Recipient.objects.get_or_create(user=user)
    return f"urn:uuid:{recipient.subject_uuid}"


def _valid_until(attempt: ExamAttempt, valid_from: datetime) -> datetime:
    """The exam's validity in months after ``valid_from`` (assessment's rule)."""
    return assessment.add_months(valid_from, attempt.exam.valid_months)


def _score_band(attempt: ExamAttempt) -> str:
    theta = attempt.theta if attempt.theta is not None else attempt.exam.cut_theta
    scale = assessment.reported_score(theta, attempt.exam.cut_theta)
    index = min(len(SCORE_BANDS) - 1, max(0, (scale - SCALE_PASS) // 100))
    return SCORE_BANDS[index]


def _alignments(attempt: ExamAttempt) -> list[openbadges.Alignment]:
    role_skills = (RoleSkill.objects.filter(role=attempt.exam.program.role)
                   .select_related("skill").order_by("skill__name"))
    alignments = []
    for role_skill in role_skills:
        skill = role_skill.skill
        if skill.esco_uri:
            alignments.append(openbadges.Alignment(skill.name, skill.esco_uri, "ESCO",
                                                   "ceasn:Competency", skill.slug))
        else:
            url = _absolute(reverse("catalog:skill", args=[skill.slug]))
            alignments.append(openbadges.Alignment(skill.name, url, "Upskill skills catalog",
                                                   "ceasn:Competency", skill.slug))
    return alignments


def _evidence(user: User) -> list[openbadges.Evidence]:
    evidence = []
    for item in labs.portfolio_items(user):
        if not item.passed:
            continue
        narrative = (f"Graded project: {item.metric_label} {item.public_score:.3g} on the "
                     f"public test set, scored by Upskill's trusted grader.")
        evidence.append(openbadges.Evidence(
            _absolute(reverse("labs:detail", args=[item.lab.slug])), item.lab.title, narrative,
            "Project"))
    return evidence


def _criteria(attempt: ExamAttempt) -> str:
    exam = attempt.exam
    areas = "; ".join(f"{area['area']} ({round(100 * float(area['weight']))}%)"
                      for area in exam.blueprint)
    return (f"Pass the {exam.title}: a timed certification exam on the blueprint areas "
            f"{areas}. The candidate passes when the posterior probability that their ability "
            f"is at or above the passing standard is at least 0.5; the standard (a score of "
            f"{SCALE_PASS} on the reported scale) was set by the {exam.cut_method} method. "
            f"Exam content release {exam.release.version}.")


def _allocate(issuer: str, purpose: str) -> tuple[StatusList, int]:
    """The next free bit of ``issuer``'s ``purpose`` lists (a new list when all are full).
    Call inside a transaction: the list row is locked until it commits."""
    current = (StatusList.objects.select_for_update().filter(issuer=issuer, purpose=purpose)
               .order_by("-number").first())
    if current is None or current.next_index >= current.size:
        last = (StatusList.objects.filter(purpose=purpose).order_by("-number")
                .values_list("number", flat=True).first())
        current = StatusList.objects.create(
            purpose=purpose, number=(last or 0) + 1, issuer=issuer,
            bits=bytes(status_list.new_bitstring()), size=status_list.MIN_ENTRIES)
        _sign_list(current)
    index = current.next_index
    current.next_index = index + 1
    current.save(update_fields=["next_index"])
    return current, index


def _sign_list(status: StatusList) -> None:
    """Re-sign ``status``'s list credential from its bits (no validFrom: a verifier whose clock
    is a little behind ours would otherwise refuse a list signed a moment ago)."""
    identity = keys.identity_for_issuer(status.issuer)
    url = _list_url(status.purpose, status.number)
    document = status_list.status_list_credential(
        list_url=url, issuer=status.issuer, status_purpose=status.purpose,
        encoded_list=status_list.encode(bytes(status.bits)))
    now = timezone.now()
    signed = proofs.sign(document, identity.private_key, identity.verification_method, now)
    status.signed = _dump(signed)
    status.signed_at = now
    status.save(update_fields=["signed", "signed_at"])


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _issuer_profile(issuer: str) -> openbadges.Issuer:
    return openbadges.Issuer(issuer, str(settings.CREDENTIALS_ISSUER_NAME),
                             settings.PUBLIC_URL + "/")


def issue_credential(attempt_id: int) -> Credential:
    """Sign and store the OB 3.0 credential of a passed exam attempt (the ``credentials.issue``
    job's work). Idempotent: a second call returns the credential already issued.

    Raises NotFound (no such attempt), Invalid (not a finished pass, or the document would not
    be fully signed) and keys.KeyUnavailable (no signing key configured)."""
    existing = Credential.objects.filter(exam_attempt_id=attempt_id).first()
    if existing is not None:
        return existing
    attempt = (ExamAttempt.objects.select_related("exam__program__role", "exam__release", "user")
               .filter(pk=attempt_id).first())
    if attempt is None:
        raise NotFound(_("There is no such exam attempt."))
    if attempt.status != ExamAttempt.Status.FINISHED or not attempt.passed \
            or attempt.finished_at is None:
        raise Invalid(_("Only a finished, passed exam attempt earns a credential."))
    identity = keys.signing_identity()
    valid_from = attempt.finished_at
    alignments, evidence = _alignments(attempt), _evidence(attempt.user)
    try:
        with transaction.atomic():
            credential = _sign_and_store(attempt, identity, valid_from, alignments, evidence)
            # The next services, called explicitly: the holder's previous credential for the
            # program is superseded by this one, and the daily reminder run is made pending.
            renewal.supersede_held(credential)
            renewal.schedule_reminders()
            return credential
    except IntegrityError:
        # Another run of the job stored it first (the attempt is unique): that one counts.
        return Credential.objects.get(exam_attempt_id=attempt_id)


def issue_missing() -> list[Credential]:
    """Issue, in this process, the credentials of passed attempts that have none: the recovery
    after ``credentials.issue`` jobs failed (say, production had no key file yet). Idempotent;
    stops at the first attempt that still cannot be issued, raising its error."""
    pending = (ExamAttempt.objects.filter(status=ExamAttempt.Status.FINISHED, passed=True,
                                          credential__isnull=True)
               .order_by("finished_at").values_list("pk", flat=True))
    return [issue_credential(attempt_id) for attempt_id in pending]


def _sign_and_store(attempt: ExamAttempt, identity: keys.SigningIdentity, valid_from: datetime,
                    alignments: Sequence[openbadges.Alignment],
                    evidence: Sequence[openbadges.Evidence]) -> Credential:
    exam, program = attempt.exam, attempt.exam.program
    revocation, revocation_index = _allocate(identity.issuer, StatusList.Purpose.REVOCATION)
    suspension, suspension_index = _allocate(identity.issuer, StatusList.Purpose.SUSPENSION)
    public_id = uuid.uuid4()
    achievement = _absolute(reverse("assessment:exam_overview", args=[program.slug]))
    unsigned = openbadges.achievement_credential(
        credential_id=f"urn:uuid:{public_id}",
        issuer=_issuer_profile(identity.issuer),
        valid_from=valid_from,
        valid_until=_valid_until(attempt, renewal.validity_start(attempt, valid_from)),
        subject_id=_subject_id(attempt.user),
        achievement_id=achievement,
        achievement_name=program.title,
        achievement_description=exam.summary,
        criteria_narrative=_criteria(attempt),
        achievement_version=exam.release.version,
        alignments=alignments,
        result_descriptions=[
            openbadges.ResultDescription(f"{achievement}#outcome", "Exam outcome", "Status"),
            openbadges.ResultDescription(f"{achievement}#score-band", "Scaled score band",
                                         "PerformanceLevel", SCORE_BANDS),
        ],
        results=[
            openbadges.Result(f"{achievement}#outcome", value="Pass", status="Completed"),
            openbadges.Result(f"{achievement}#score-band", value=_score_band(attempt)),
        ],
        evidence=evidence,
        revocation=openbadges.StatusListPosition(
            _list_url(revocation.purpose, revocation.number), revocation_index),
        suspension=openbadges.StatusListPosition(
            _list_url(suspension.purpose, suspension.number), suspension_index),
    )
    now = timezone.now()
    try:
        signed = proofs.sign(unsigned, identity.private_key, identity.verification_method, now)
    except proofs.UnsignableDocument as error:
        raise Invalid(f"Refusing to issue a credential that would not be fully signed: {error}"
                      ) from error
    return Credential.objects.create(
        public_id=public_id, user=attempt.user, exam_attempt=attempt, program=program,
        release=exam.release, issuer=identity.issuer, issuer_key=identity.key, issued_at=now,
        valid_from=proofs.parse_xsd_datetime(signed["validFrom"]),
        valid_until=proofs.parse_xsd_datetime(signed["validUntil"]),
        document=_dump(signed), revocation_list=revocation, revocation_index=revocation_index,
        suspension_list=suspension, suspension_index=suspension_index)


def issue_document(actor: User, credential: object) -> dict[str, Any]:
    """Sign an arbitrary credential with our key (``POST /credentials/issue``). Staff only.

    Adds our issuer when none is given (refuses another issuer), an ``id`` and ``validFrom``
    when missing; refuses (Invalid, naming the property) anything that is not a VC 2.0
    credential or would not be fully signed. Logged in ``ApiIssuance`` with the signed text."""
    if not accounts.has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can issue credentials."))
    if not isinstance(credential, dict):
        raise Invalid(_("credential must be a JSON object."))
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or \
            contexts[0] != status_list.VC_V2_CONTEXT:
        raise Invalid(f"@context must be a list starting with {status_list.VC_V2_CONTEXT}.")
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise Invalid(_("type must be a list containing VerifiableCredential."))
    if "proof" in credential:
        raise Invalid(_("The credential already has a proof."))
    identity = keys.signing_identity()
    document = dict(credential)
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer is None:
        profile = _issuer_profile(identity.issuer)
        document["issuer"] = {"id": profile.id, "type": ["Profile"], "name": profile.name}
    elif issuer_id != identity.issuer:
        raise Invalid(f"issuer must be {identity.issuer} (this site's issuer), not {issuer_id!r}.")
    document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
    now = timezone.now()
    document.setdefault("validFrom", proofs.format_xsd_datetime(now))
    try:
        signed = proofs.sign(document, identity.private_key, identity.verification_method, now)
    except proofs.UnsignableDocument as error:
        raise Invalid(f"Refusing to sign: {error}") from error
    document_id = signed.get("id")
    ApiIssuance.objects.create(
        actor=actor, document_id=document_id[:500] if isinstance(document_id, str) else "",
        document=_dump(signed), issuer_key=identity.key)
    return signed


# ----------------------------------------------------------------------------- status


def _credential(credential_id: uuid.UUID | str, *, lock: bool = False) -> Credential:
    try:
        public_id = uuid.UUID(str(credential_id))
    except ValueError as error:
        raise NotFound(_("There is no such credential.")) from error
    query = Credential.objects.select_for_update() if lock else Credential.objects.all()
    found = query.filter(public_id=public_id).first()
    if found is None:
        raise NotFound(_("There is no such credential."))
    return found


def _change_status(actor: User, credential_id: uuid.UUID | str, purpose: Purpose, value: bool,
                   reason: str) -> Credential:
    if not accounts.has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can change the status of a credential."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Give a reason: it is kept in the audit log."))
    with transaction.atomic():
        credential = _credential(credential_id, lock=True)
        if credential.revoked_at is not None:
            raise Conflict(_("This credential is revoked; a revocation is final."))
        if purpose == "suspension" and value == (credential.suspended_at is not None):
            raise Conflict(_("This credential is already suspended.") if value
                           else _("This credential is not suspended."))
        list_id, index = ((credential.revocation_list_id, credential.revocation_index)
                          if purpose == "revocation"
                          else (credential.suspension_list_id, credential.suspension_index))
        status = StatusList.objects.select_for_update().get(pk=list_id)
        bits = bytearray(status.bits)
        status_list.set_bit(bits, index, value)
        status.bits = bytes(bits)
        status.save(update_fields=["bits"])
        _sign_list(status)
        now = timezone.now()
        if purpose == "revocation":
            credential.revoked_at = now
        else:
            credential.suspended_at = now if value else None
        credential.save(update_fields=["revoked_at", "suspended_at"])
        StatusChange.objects.create(
            credential=credential, purpose=purpose, reason=reason, actor=actor, at=now,
            action=StatusChange.Action.SET if value else StatusChange.Action.CLEARED)
    return credential


def revoke(actor: User, credential_id: uuid.UUID | str, reason: str) -> Credential:
    """Revoke a credential for good. Staff only (PermissionDenied), a reason is required
    (Invalid), revoking twice is a Conflict. Sets the bit and re-signs the revocation list in
    one transaction, with a StatusChange row."""
    return _change_status(actor, credential_id, "revocation", True, reason)


def suspend(actor: User, credential_id: uuid.UUID | str, reason: str) -> Credential:
    """Suspend a credential until :func:`lift_suspension`. Same rules as :func:`revoke`."""
    return _change_status(actor, credential_id, "suspension", True, reason)


def lift_suspension(actor: User, credential_id: uuid.UUID | str, reason: str) -> Credential:
    """End a suspension. Same rules as :func:`revoke`; Conflict if it is not suspended."""
    return _change_status(actor, credential_id, "suspension", False, reason)


def status_history(actor: User, credential_id: uuid.UUID | str) -> list[StatusChange]:
    """The audit log of one credential, oldest first. Staff only."""
    if not accounts.has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can read the status audit log."))
    return list(_credential(credential_id).status_changes.select_related("actor"))


# ----------------------------------------------------------------------------- verification


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: object) -> datetime | None:
    try:
        return proofs.parse_xsd_datetime(value)
    except ValueError:
        return None


def _dicts(value: object) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _described(document: Mapping[str, Any]) -> dict[str, Any]:
    """The readable parts of a credential, whatever shape it has (never raises)."""
    issuer = document.get("issuer")
    subject = next(iter(_dicts(document.get("credentialSubject"))), {})
    achievement = subject.get("achievement")
    alignments = _dicts(achievement.get("alignment")) if isinstance(achievement, dict) else []
    return {
        "issuer": _text(issuer.get("id")) if isinstance(issuer, dict) else _text(issuer),
        "issuer_name": _text(issuer.get("name")) if isinstance(issuer, dict) else None,
        "name": _text(document.get("name")),
        "subject": _text(subject.get("id")),
        "skills": [SkillClaim(a["targetName"], a["targetUrl"], _text(a.get("targetFramework")))
                   for a in alignments
                   if isinstance(a.get("targetName"), str) and isinstance(a.get("targetUrl"), str)],
        "evidence": [EvidenceLink(e.get("name") or e["id"], e["id"], _text(e.get("narrative")))
                     for e in _dicts(document.get("evidence")) if isinstance(e.get("id"), str)
                     and isinstance(e.get("name", ""), str)],
        "valid_from": _date(document.get("validFrom")),
        "valid_until": _date(document.get("validUntil")),
    }


def _status_lists_of(document: Mapping[str, Any]) -> tuple[dict[str, object], list[str]]:
    """Our signed lists the document points at, and the URLs of lists that are not ours."""
    lists: dict[str, object] = {}
    foreign: list[str] = []
    for entry in _dicts(document.get("credentialStatus")):
        url = entry.get("statusListCredential")
        if not isinstance(url, str):
            continue
        ours = _our_list(url)
        if ours is None:
            foreign.append(url)
            continue
        stored = StatusList.objects.filter(purpose=ours[0], number=ours[1]).only("signed").first()
        if stored is not None and stored.signed:
            lists[url] = json.loads(stored.signed)
    return lists, foreign


def verify_document(document: object, *, now: datetime | None = None) -> VerificationReport:
    """Verify any credential: its proof (eddsa-rdfc-2022), validity dates and, when the status
    lists are ours, revocation and suspension. Never raises for any JSON value; fetches
    nothing (a did:web other than ours does not resolve; foreign status lists are "not
    checked")."""
    if not isinstance(document, dict):
        return VerificationReport(False, "invalid", [_("A credential is a JSON object.")])
    described = _described(document)
    resolve = keys.resolver()
    result = proofs.verify(document, resolve, now=now)
    errors, warnings = list(result.errors), []
    checks = ["proof", "validFrom", "validUntil"]
    revoked = suspended = status_failed = unchecked = False
    if _dicts(document.get("credentialStatus")):
        lists, foreign = _status_lists_of(document)
        if foreign:
            unchecked = True
            warnings.append("Status not checked: the status list "
                            f"{', '.join(foreign)} is not ours and is never fetched.")
        else:
            status = status_list.credential_status(document, lists, resolve, now=now)
            checks.append("credentialStatus")
            revoked, suspended = status.revoked, status.suspended
            status_failed = not status.checked
            errors.extend(status.errors)
    verdict: Status
    if not result.proof_verified or result.not_yet_valid or status_failed:
        verdict = "invalid"
    elif revoked:
        verdict = "revoked"
    elif suspended:
        verdict = "suspended"
    elif result.expired:
        verdict = "expired"
    elif unchecked:
        verdict = "not checked"
    else:
        verdict = "valid"
    return VerificationReport(valid=verdict == "valid", status=verdict, errors=errors,
                              warnings=warnings, checks=checks,
                              proof_verified=result.proof_verified, **described)


# ----------------------------------------------------------------------------- reading


def _recorded_status(credential: Credential, verification: VerificationReport,
                     now: datetime) -> Status:
    if verification.status == "invalid":
        return "invalid"
    return _standing(credential, now)


def credential_report(public_id: uuid.UUID | str) -> CredentialReport:
    """Everything the public verification page shows for one credential (NotFound for an
    unknown id). Anyone may call it: a credential is shared to be checked."""
    credential = _credential(public_id)
    credential = (Credential.objects.select_related("program", "release", "user", "superseded_by")
                  .get(pk=credential.pk))
    verification = verify_document(json.loads(credential.document))
    holder_name = (Profile.objects.filter(user_id=credential.user_id)
                   .values_list("display_name", flat=True).first() or "")
    return CredentialReport(
        public_id=credential.public_id,
        status=_recorded_status(credential, verification, timezone.now()),
        holder_name=holder_name, program_title=credential.program.title,
        release_version=credential.release.version, issued_at=credential.issued_at,
        valid_from=credential.valid_from, valid_until=credential.valid_until,
        revoked_at=credential.revoked_at, suspended_at=credential.suspended_at,
        superseded_by=credential.superseded_by.public_id if credential.superseded_by else None,
        json_url=_json_url(credential.public_id), verification=verification)


def credentials_of(actor: User) -> list[CredentialSummary]:
    """The caller's own credentials, newest first (status from our records)."""
    person = accounts.person(actor)
    now = timezone.now()
    summaries = []
    for credential in Credential.objects.filter(user=person).select_related("program"):
        status = _standing(credential, now)
        summaries.append(CredentialSummary(
            public_id=credential.public_id, program_title=credential.program.title,
            issued_at=credential.issued_at, valid_until=credential.valid_until, status=status,
            json_url=_json_url(credential.public_id)))
    return summaries


def credential_json(public_id: uuid.UUID | str) -> str:
    """The signed credential exactly as signed (public; NotFound for an unknown id)."""
    return _credential(public_id).document


def status_list_json(purpose: str, number: int) -> str:
    """The signed status list credential served at ``/credentials/status/<purpose>/<n>``."""
    found = StatusList.objects.filter(purpose=purpose, number=number).exclude(signed="").first()
    if found is None:
        raise NotFound(_("There is no such status list."))
    return found.signed


def did_json() -> dict[str, Any]:
    """Our ``/.well-known/did.json`` (every key, current and retired); NotFound without
    ``UPSKILL_CREDENTIALS_DOMAIN`` (the issuer is then a did:key, which needs no document)."""
    document = keys.did_document()
    if document is None:
        raise NotFound(_("This site has no did:web (UPSKILL_CREDENTIALS_DOMAIN is not set)."))
    return document


def rotate_key(actor: User | None) -> IssuerKey:
    """Retire the current signing key and make a new one current (see keys.rotate). Staff or
    the system (``actor=None``, the management command) only."""
    if actor is not None and not accounts.has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can rotate the signing key."))
    return keys.rotate()


# --- pages
# What the human pages (views.py) show: the public verification page, the holder's own list,
# the printable certificate and the opt-in public portfolio. Renewal is only read here
# (``renewal_due``, ``superseded_by``, ``valid_until``); renewal.py decides it.

__all__ += [
    "RENEWAL_NOTICE_DAYS",
    "CredentialPage",
    "HeldCredential",
    "PortfolioProject",
    "PublicPortfolio",
    "certificate_of",
    "credential_for_attempt",
    "credential_page",
    "held_credentials",
    "not_a_credential",
    "portfolio_settings",
    "public_page_url",
    "public_portfolio",
    "public_portfolio_url",
    "set_shown_in_portfolio",
    "update_portfolio",
]

# The holder is told to renew this long before the credential expires.
RENEWAL_NOTICE_DAYS = 90
HEADLINE_MAX_CHARS = 160
HANDLE_BYTES = 12  # token_urlsafe(12): 16 characters, 96 random bits


@dataclass(frozen=True)
class CredentialPage:
    """The public verification page: the report and what the achievement says it certifies."""

    report: CredentialReport
    achievement_description: str
    program_slug: str


@dataclass(frozen=True)
class HeldCredential:
    """One of the caller's own credentials, for "My credentials". ``expires_in_days`` is set
    only when it is still in force and expires within RENEWAL_NOTICE_DAYS."""

    public_id: uuid.UUID
    program_title: str
    program_slug: str
    issuer_name: str
    issued_at: datetime
    valid_until: datetime | None
    status: Status
    renewal_due: str
    expires_in_days: int | None
    superseded_by: uuid.UUID | None
    show_in_portfolio: bool


@dataclass(frozen=True)
class PortfolioProject:
    title: str
    lab_slug: str
    metric_label: str
    score: float
    skills: list[str]
    graded_at: datetime


@dataclass(frozen=True)
class PublicPortfolio:
    """What ``/p/<handle>/`` shows: never an email address, never a hidden credential."""

    holder_name: str
    headline: str
    credentials: list[CredentialSummary]
    projects: list[PortfolioProject]


def public_page_url(public_id: uuid.UUID | str) -> str:
    """The absolute address of a credential's public verification page (PUBLIC_URL)."""
    return _absolute(reverse("credentials:page", args=[str(public_id)]))


def public_portfolio_url(handle: str) -> str:
    """The absolute address of a public portfolio (PUBLIC_URL)."""
    return _absolute(reverse("credentials:portfolio", args=[handle]))


def not_a_credential(document: Mapping[str, Any]) -> str | None:
    """Why a JSON object is not a verifiable credential at all (``None`` if it looks like
    one), for the VC-API and the verify page to say before verifying."""
    types = document.get("type")
    if "@context" not in document:
        return "it has no @context"
    if not (types == "VerifiableCredential" or
            (isinstance(types, list) and "VerifiableCredential" in types)):
        return "its type does not include VerifiableCredential"
    if "proof" not in document:
        return "it has no proof"
    return None


def _achievement_description(document_text: str) -> str:
    subject = next(iter(_dicts(json.loads(document_text).get("credentialSubject"))), {})
    achievement = subject.get("achievement")
    return (_text(achievement.get("description")) or "") if isinstance(achievement, dict) else ""


def credential_page(public_id: uuid.UUID | str) -> CredentialPage:
    """Everything the public verification page shows (NotFound for an unknown id). Public."""
    report = credential_report(public_id)
    credential = Credential.objects.select_related("program").get(public_id=report.public_id)
    return CredentialPage(report, _achievement_description(credential.document),
                          credential.program.slug)


def _expires_in_days(credential: Credential, status: Status, now: datetime) -> int | None:
    if status != "valid" or credential.valid_until is None or credential.superseded_by_id:
        return None
    days = (credential.valid_until - now).days
    return days if days <= RENEWAL_NOTICE_DAYS else None


def held_credentials(actor: User) -> list[HeldCredential]:
    """The caller's own credentials, newest first, with what they should know about renewal.
    Status from our records; each signature is checked on its own public page."""
    person = accounts.person(actor)
    now = timezone.now()
    held = []
    for credential in (Credential.objects.filter(user=person)
                       .select_related("program", "superseded_by")):
        status = _standing(credential, now)
        held.append(HeldCredential(
            public_id=credential.public_id, program_title=credential.program.title,
            program_slug=credential.program.slug,
            issuer_name=str(settings.CREDENTIALS_ISSUER_NAME), issued_at=credential.issued_at,
            valid_until=credential.valid_until, status=status,
            renewal_due=credential.renewal_due if status == "valid" else "",
            expires_in_days=_expires_in_days(credential, status, now),
            superseded_by=credential.superseded_by.public_id if credential.superseded_by
            else None,
            show_in_portfolio=credential.show_in_portfolio))
    return held


def set_shown_in_portfolio(actor: User, public_id: uuid.UUID | str, shown: bool) -> None:
    """Show or hide one of the caller's credentials on their public portfolio. Only the
    holder (PermissionDenied for anyone else); NotFound for an unknown id. Idempotent."""
    person = accounts.person(actor)
    credential = _credential(public_id)
    if credential.user_id != person.pk:
        raise PermissionDenied(_("Only the holder can choose where a credential is shown."))
    Credential.objects.filter(pk=credential.pk).update(show_in_portfolio=shown)


def portfolio_settings(actor: User) -> Portfolio:
    """The caller's portfolio, made (switched off, with a random handle) on first use."""
    person = accounts.person(actor)
    found = Portfolio.objects.filter(user=person).first()
    if found is not None:
        return found
    for _attempt in range(3):  # a handle collision is astronomically rare; retry anyway
        try:
            with transaction.atomic():
                return Portfolio.objects.create(user=person, handle=_new_handle())
        except IntegrityError:
            found = Portfolio.objects.filter(user=person).first()
            if found is not None:
                return found  # made by a request of the same person a moment ago
    raise Conflict(_("Could not make a portfolio address; please try again."))


def _new_handle() -> str:
    # token_urlsafe may start or end with "-" or "_", which reads badly in an address.
    return secrets.token_urlsafe(HANDLE_BYTES).replace("_", "x").strip("-") or "p"


def update_portfolio(actor: User, *, public: bool, headline: str,
                     show_projects: bool) -> Portfolio:
    """Change the caller's portfolio settings. The headline is one line of plain text of at
    most HEADLINE_MAX_CHARS characters (Invalid otherwise; control characters are dropped)."""
    portfolio = portfolio_settings(actor)
    cleaned = " ".join("".join(char for char in headline
                               if not unicodedata.category(char).startswith("C")).split())
    if len(cleaned) > HEADLINE_MAX_CHARS:
        raise Invalid(_("The headline is %(n)d characters; at most %(max)d fit.")
                      % {"n": len(cleaned), "max": HEADLINE_MAX_CHARS})
    portfolio.public, portfolio.headline, portfolio.show_projects = public, cleaned, show_projects
    portfolio.updated_at = timezone.now()
    portfolio.save(update_fields=["public", "headline", "show_projects", "updated_at"])
    return portfolio


def public_portfolio(handle: str) -> PublicPortfolio:
    """The public portfolio at ``/p/<handle>/``. Anyone may call it; NotFound alike for an
    unknown handle and for a portfolio that is switched off, so that neither is revealed.
    Lists the credentials the holder shows and, if they chose, their passed lab projects."""
    portfolio = Portfolio.objects.filter(handle=handle, public=True).select_related("user").first()
    if portfolio is None:
        raise NotFound(_("There is no such portfolio."))
    holder = portfolio.user
    now = timezone.now()
    credentials = [
        CredentialSummary(
            public_id=credential.public_id, program_title=credential.program.title,
            issued_at=credential.issued_at, valid_until=credential.valid_until,
            status=_standing(credential, now),
            json_url=_json_url(credential.public_id))
        for credential in Credential.objects.filter(user=holder, show_in_portfolio=True)
        .select_related("program")]
    projects = [
        PortfolioProject(item.lab.title, item.lab.slug, item.metric_label, item.public_score,
                         item.skills, item.graded_at)
        for item in labs.portfolio_items(holder) if item.passed] \
        if portfolio.show_projects else []
    holder_name = (Profile.objects.filter(user=holder).values_list("display_name", flat=True)
                   .first() or "")
    return PublicPortfolio(holder_name, portfolio.headline, credentials, projects)


def certificate_of(public_id: uuid.UUID | str) -> certificate.CertificateData:
    """What the printed certificate of a credential says (public, like its page)."""
    page = credential_page(public_id)
    report = page.report
    return certificate.CertificateData(
        holder_name=report.holder_name, achievement_name=report.program_title,
        description=page.achievement_description,
        issuer_name=report.verification.issuer_name or str(settings.CREDENTIALS_ISSUER_NAME),
        issued_on=timezone.localdate(report.issued_at),
        valid_until=timezone.localdate(report.valid_until) if report.valid_until else None,
        credential_id=str(report.public_id), verify_url=public_page_url(report.public_id),
        skills=[skill.name for skill in report.verification.skills])


def credential_for_attempt(actor: User, attempt_id: int) -> uuid.UUID | None:
    """The public id of the credential the caller's exam attempt earned (None: none yet, or
    not their attempt), for the score report's link."""
    person = accounts.person(actor)
    return (Credential.objects.filter(exam_attempt_id=attempt_id, user=person)
            .values_list("public_id", flat=True).first())


# --- renewal
# Reminders, superseding and major releases are in renewal.py; here what other apps and the
# pages read: a credential's standing, and whether its holder may renew it now.

__all__ += ["RenewalStatus", "renewal_status"]


def _standing(credential: Credential, now: datetime) -> Status:
    """A credential's status from our records: revoked, suspended, expired (past its
    validUntil, superseded or not), superseded (by a renewal, until its own validUntil),
    else valid."""
    if credential.revoked_at is not None:
        return "revoked"
    if credential.suspended_at is not None:
        return "suspended"
    if credential.valid_until is not None and credential.valid_until < now:
        return "expired"
    if credential.superseded_by_id is not None:
        return "superseded"
    return "valid"


@dataclass(frozen=True)
class RenewalStatus:
    """Whether the holder of a credential for a program may take the renewal exam now.

    ``reason`` says why (the expiry date, or the major release behind ``renewal_due``) or why
    not yet / not at all (suspended); ``opens_at`` is when the window opens if it is not open.
    """

    credential_id: uuid.UUID
    valid_from: datetime
    valid_until: datetime | None
    renewal_due: str
    available: bool
    reason: str
    opens_at: datetime | None


def renewal_status(user: User, program: Program, window_days: int, *,
                   now: datetime | None = None) -> RenewalStatus | None:
    """The renewal standing of ``user``'s current credential for ``program`` (None when they
    hold none that is in force: never issued, revoked, superseded or expired — they take the
    full exam). Renewal is open ``window_days`` before expiry, or at once when
    ``renewal_due`` is set; never for a suspended credential. Reads only; one query."""
    current = now or timezone.now()
    held = renewal.current_credential(user.pk, program.pk)
    if held is None or (held.valid_until is not None and held.valid_until <= current):
        return None
    available, reason, opens_at = _renewal_window(held, window_days, current)
    return RenewalStatus(credential_id=held.public_id, valid_from=held.valid_from,
                         valid_until=held.valid_until, renewal_due=held.renewal_due,
                         available=available, reason=reason, opens_at=opens_at)


def _renewal_window(held: Credential, window_days: int,
                    current: datetime) -> tuple[bool, str, datetime | None]:
    """(available, why, when it opens) for a credential in force."""
    if held.suspended_at is not None:
        return False, _("Your credential is suspended; it cannot be renewed."), None
    if held.renewal_due:
        return True, held.renewal_due, None
    if held.valid_until is None:
        return False, _("Your credential does not expire."), None
    until = held.valid_until.date().isoformat()
    opens_at = held.valid_until - timedelta(days=window_days)
    if opens_at <= current:
        return True, _("Your credential expires on %(date)s.") % {"date": until}, None
    return False, (_("Renewal opens on %(opens)s, %(days)d days before your credential "
                     "expires on %(date)s.")
                   % {"opens": opens_at.date().isoformat(), "days": window_days,
                      "date": until}), opens_at
