"""Open Badges 3.0 credential documents (unsigned): what an Upskill certification says.

:func:`achievement_credential` builds an ``OpenBadgeCredential`` whose
achievement is a Certification: its skills as ``alignment``, the exam outcome
as ``result`` against ``resultDescription``, graded projects as ``evidence``,
validity dates and two status entries (revocation, suspension). Sign it with
:func:`upskill.credentials.proofs.sign`.

Free text is cleaned of control characters: JSON-LD libraries have escaped
them differently when canonicalizing (a signature that verifies in one and not
in another), and none belongs in a name.
Names lose every control character; descriptions and narratives keep line
breaks and tabs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from upskill.credentials.proofs import format_xsd_datetime
from upskill.credentials.status_list import status_entry

__all__ = [
    "OB3_CONTEXT",
    "VC_V2_CONTEXT",
    "Alignment",
    "Evidence",
    "Issuer",
    "Result",
    "ResultDescription",
    "StatusListPosition",
    "achievement_credential",
    "clean_name",
    "clean_text",
]

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def clean_name(text: str) -> str:
    """``text`` without control characters (Unicode category Cc), trimmed."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc").strip()


def clean_text(text: str) -> str:
    """Like :func:`clean_name`, but keeps line breaks and tabs."""
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc"
    ).strip()


@dataclass(frozen=True)
class Issuer:
    id: str  # did:web:... or did:key:...
    name: str
    url: str | None = None


@dataclass(frozen=True)
class Alignment:
    """A skill the certification covers, in an external framework where one exists."""

    target_name: str
    target_url: str
    target_framework: str | None = None
    target_type: str | None = None  # e.g. "ceasn:Competency", "CFItem"
    target_code: str | None = None


@dataclass(frozen=True)
class ResultDescription:
    id: str
    name: str
    result_type: str  # OB 3.0 ResultType: "Status", "PerformanceLevel", "ScaledScore", ...
    allowed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    result_description: str  # the id of a ResultDescription
    value: str | None = None
    status: str | None = None  # OB 3.0 ResultStatusType: "Completed", ...


@dataclass(frozen=True)
class Evidence:
    id: str  # a link to the graded project
    name: str
    narrative: str | None = None
    genre: str | None = None


@dataclass(frozen=True)
class StatusListPosition:
    """Where the credential's bit lives in a status list (one for each purpose)."""

    list_url: str
    index: int


def _alignment(alignment: Alignment) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": clean_name(alignment.target_name),
        "targetUrl": alignment.target_url,
    }
    if alignment.target_framework:
        document["targetFramework"] = clean_name(alignment.target_framework)
    if alignment.target_type:
        document["targetType"] = alignment.target_type
    if alignment.target_code:
        document["targetCode"] = clean_name(alignment.target_code)
    return document


def _result_description(description: ResultDescription) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": description.id,
        "type": ["ResultDescription"],
        "name": clean_name(description.name),
        "resultType": description.result_type,
    }
    if description.allowed_values:
        document["allowedValue"] = [clean_name(v) for v in description.allowed_values]
    return document


def _result(result: Result) -> dict[str, Any]:
    document: dict[str, Any] = {"type": ["Result"], "resultDescription": result.result_description}
    if result.value is not None:
        document["value"] = clean_name(result.value)
    if result.status is not None:
        document["status"] = result.status
    return document


def _evidence(evidence: Evidence) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": evidence.id,
        "type": ["Evidence"],
        "name": clean_name(evidence.name),
    }
    if evidence.narrative:
        document["narrative"] = clean_text(evidence.narrative)
    if evidence.genre:
        document["genre"] = clean_name(evidence.genre)
    return document


def _issuer(issuer: Issuer) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": issuer.id,
        "type": ["Profile"],
        "name": clean_name(issuer.name),
    }
    if issuer.url:
        document["url"] = issuer.url
    return document


def achievement_credential(
    *,
    credential_id: str,
    issuer: Issuer,
    valid_from: datetime,
    valid_until: datetime | None,
    achievement_id: str,
    achievement_name: str,
    achievement_description: str,
    criteria_narrative: str,
    subject_id: str | None = None,
    achievement_version: str | None = None,
    alignments: Sequence[Alignment] = (),
    result_descriptions: Sequence[ResultDescription] = (),
    results: Sequence[Result] = (),
    evidence: Sequence[Evidence] = (),
    revocation: StatusListPosition | None = None,
    suspension: StatusListPosition | None = None,
) -> dict[str, Any]:
    """An unsigned OB 3.0 ``OpenBadgeCredential`` for a Certification achievement.

    Dates become full XML Schema dateTimes in UTC ("2026-01-15T10:00:00Z");
    naive datetimes are refused (ValueError). ``achievement_version`` names the
    content release certified. Every result must point at a given result
    description (ValueError otherwise).
    """
    known_descriptions = {description.id for description in result_descriptions}
    for result in results:
        if result.result_description not in known_descriptions:
            raise ValueError(f"result points at unknown description {result.result_description!r}")
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": clean_name(achievement_name),
        "description": clean_text(achievement_description),
        "criteria": {"narrative": clean_text(criteria_narrative)},
    }
    if achievement_version:
        achievement["version"] = clean_name(achievement_version)
    if alignments:
        achievement["alignment"] = [_alignment(a) for a in alignments]
    if result_descriptions:
        achievement["resultDescription"] = [_result_description(d) for d in result_descriptions]

    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if subject_id:
        subject["id"] = subject_id
    subject["achievement"] = achievement
    if results:
        subject["result"] = [_result(r) for r in results]

    document: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT, OB3_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _issuer(issuer),
        "validFrom": format_xsd_datetime(valid_from),
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise ValueError("validUntil must be after validFrom")
        document["validUntil"] = format_xsd_datetime(valid_until)
    document["name"] = clean_name(achievement_name)
    document["credentialSubject"] = subject
    if evidence:
        document["evidence"] = [_evidence(e) for e in evidence]
    statuses = [
        status_entry(position.list_url, position.index, purpose)
        for purpose, position in (("revocation", revocation), ("suspension", suspension))
        if position is not None
    ]
    if statuses:
        document["credentialStatus"] = statuses
    return document
