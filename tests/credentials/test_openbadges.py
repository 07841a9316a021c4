"""The Open Badges 3.0 certification document Upskill issues."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.credentials.conftest import ISSUED_AT, REVOCATION_LIST, SUSPENSION_LIST, Issuer
from upskill.credentials import openbadges


def test_the_credential_has_the_ob3_shape(make_credential: Callable[..., dict[str, Any]]) -> None:
    credential = make_credential()
    assert credential["@context"] == [openbadges.VC_V2_CONTEXT, openbadges.OB3_CONTEXT]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["type"] == ["Profile"]
    assert (credential["validFrom"], credential["validUntil"]) == (
        "2026-01-15T10:00:00Z", "2028-01-15T10:00:00Z")
    achievement = credential["credentialSubject"]["achievement"]
    assert credential["credentialSubject"]["type"] == ["AchievementSubject"]
    assert achievement["achievementType"] == "Certification"
    assert achievement["alignment"][0] == {
        "type": ["Alignment"], "targetName": "Train and evaluate models",
        "targetUrl": "http://data.europa.eu/esco/skill/ml-train", "targetFramework": "ESCO",
        "targetType": "ceasn:Competency", "targetCode": "ml-train"}
    descriptions = {d["id"] for d in achievement["resultDescription"]}
    results = credential["credentialSubject"]["result"]
    assert {r["resultDescription"] for r in results} <= descriptions
    assert [(s["statusPurpose"], s["statusListCredential"], s["statusListIndex"])
            for s in credential["credentialStatus"]] == [
        ("revocation", REVOCATION_LIST, "4242"), ("suspension", SUSPENSION_LIST, "4242")]


def test_every_field_is_defined_by_the_contexts_so_it_can_be_signed(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    # sign() refuses a document with any undefined term; this is the full builder output.
    assert issuer.sign(make_credential())["proof"]["proofValue"]


def test_control_characters_leave_names_but_line_breaks_stay_in_narratives(
    make_credential: Callable[..., dict[str, Any]],
) -> None:
    credential = make_credential(
        achievement_name="ML\b Engineer\x00\x1f\x7f\x85 🎓 מהנדס",
        criteria_narrative="Line one\nLine\ttwo\f",
        issuer=openbadges.Issuer("did:example:issuer", "Up\nskill\u202e"),
    )
    assert credential["name"] == "ML Engineer 🎓 מהנדס"
    assert credential["credentialSubject"]["achievement"]["criteria"]["narrative"] == (
        "Line one\nLine\ttwo")
    assert credential["issuer"]["name"] == "Upskill\u202e"  # format characters are text


def test_inconsistent_input_is_refused(make_credential: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match="unknown description"):
        make_credential(results=[openbadges.Result("urn:upskill:result:nope", value="x")])
    with pytest.raises(ValueError, match="time zone"):
        make_credential(valid_from=datetime(2026, 1, 15, 10))
    with pytest.raises(ValueError, match="after validFrom"):
        make_credential(valid_until=ISSUED_AT - timedelta(days=1))
