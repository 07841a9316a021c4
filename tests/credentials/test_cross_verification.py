"""Upskill's credentials against the reference JavaScript verifier (@digitalbazaar/vc with
the eddsa-rdfc-2022 cryptosuite, offline): the acceptance checks of issue 7.

Each case asks both implementations and asserts they agree, and that the answer is right.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.credentials.conftest import (
    ISSUED_AT,
    NOW,
    REVOCATION_LIST,
    SUSPENSION_LIST,
    Issuer,
    Reference,
    fixed_key,
    signed_status_list,
)
from upskill.credentials import did, proofs, status_list

pytestmark = pytest.mark.slow

# (path, new value): leaves across the document, nested ones included.
CHANGES: list[tuple[tuple[str | int, ...], Any]] = [
    (("name",), "Machine Learning Engineer — Certification!"),
    (("issuer", "name"), "Upskill Academy Ltd"),
    (("validUntil",), "2099-01-15T10:00:00Z"),
    (("validFrom",), "2026-01-14T10:00:00Z"),
    (("credentialSubject", "id"), "did:example:learner-mallory"),
    (("credentialSubject", "achievement", "name"), "Senior ML Engineer — Certification"),
    (("credentialSubject", "achievement", "alignment", 0, "targetName"), "Train any model"),
    (("credentialSubject", "achievement", "alignment", 1, "targetUrl"),
     "https://upskill.example/skills/other"),
    (("credentialSubject", "achievement", "criteria", "narrative"), "Attend."),
    (("credentialSubject", "result", 1, "value"), "Distinction"),
    (("evidence", 0, "id"), "https://upskill.example/projects/fraud-model/43"),
    (("credentialStatus", 0, "statusListIndex"), "4243"),
    (("proof", "created"), "2026-01-16T10:00:00Z"),
]


def changed(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(document)
    target: Any = result
    for step in path[:-1]:
        target = target[step]
    assert target[path[-1]] != value, f"{path} already has the value"
    target[path[-1]] = value
    return result


def python_verify(document: Any) -> proofs.VerificationResult:
    return proofs.verify(document, did.key_resolver(), now=NOW)


def test_reference_verifies_a_credential_upskill_issued(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())

    js = reference.verify(credential)

    assert js == {"verified": True, "errors": [], "expired": False, "status": None}
    assert python_verify(credential).verified


def test_changing_any_field_breaks_the_proof_in_both(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())
    tampered = [changed(credential, path, value) for path, value in CHANGES]

    js_results = reference.verify_many([reference.request(doc) for doc in tampered])

    for (path, _), doc, js in zip(CHANGES, tampered, js_results, strict=True):
        python = python_verify(doc)
        assert not js["verified"], f"the reference accepted a change of {path}"
        assert not python.verified, f"Upskill accepted a change of {path}"
        assert not python.proof_verified


def test_revocation_is_reported_by_both_and_the_proof_still_verifies(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())
    clean = [signed_status_list(issuer, REVOCATION_LIST, "revocation", [4241, 4243]),
             signed_status_list(issuer, SUSPENSION_LIST, "suspension")]
    revoked = [signed_status_list(issuer, REVOCATION_LIST, "revocation", [4242]),
               signed_status_list(issuer, SUSPENSION_LIST, "suspension")]
    suspended = [clean[0], signed_status_list(issuer, SUSPENSION_LIST, "suspension", [4242])]

    js = reference.verify_many([reference.request(credential, status_lists=lists)
                                for lists in (clean, revoked, suspended)])

    expected = [(False, False), (True, False), (False, True)]
    for lists, js_result, (is_revoked, is_suspended) in zip(
        (clean, revoked, suspended), js, expected, strict=True
    ):
        python = status_list.credential_status(
            credential, {doc["id"]: doc for doc in lists}, did.key_resolver(), now=NOW)
        # Pitfall 7: the reference still says verified; the status is separate.
        assert js_result["verified"]
        assert js_result["status"] == {"revoked": is_revoked, "suspended": is_suspended,
                                       "verified": True}
        assert python.checked
        assert (python.revoked, python.suspended) == (is_revoked, is_suspended)


def test_a_status_list_signed_by_another_issuer_is_not_trusted_by_either(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())
    stranger_key = fixed_key(9)
    stranger = Issuer(stranger_key, did.did_key_of(stranger_key.public_key()),
                      did.did_key_verification_method(stranger_key.public_key()))
    lists = [signed_status_list(stranger, REVOCATION_LIST, "revocation"),
             signed_status_list(stranger, SUSPENSION_LIST, "suspension")]

    js = reference.verify(credential, status_lists=lists)
    python = status_list.credential_status(
        credential, {doc["id"]: doc for doc in lists}, did.key_resolver(), now=NOW)

    assert js["status"]["verified"] is False
    assert not python.checked
    assert any("issued by someone else" in error for error in python.errors)


def test_an_expired_credential_is_rejected_as_expired_by_both(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential(
        valid_from=ISSUED_AT - timedelta(days=800), valid_until=ISSUED_AT - timedelta(days=70)))

    js = reference.verify(credential)
    python = python_verify(credential)

    assert not js["verified"]
    assert js["expired"], js["errors"]
    assert not python.verified
    assert python.expired
    assert python.proof_verified  # genuine, just out of date


def test_upskill_verifies_a_credential_the_reference_signed(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    unsigned = make_credential()

    signed_by_js = reference.sign(unsigned, issuer.key)

    assert signed_by_js["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert python_verify(signed_by_js).verified
    assert not python_verify(changed(signed_by_js, ("issuer", "name"), "Someone")).verified
    # Ed25519 is deterministic: the same document, key and time give the same signature
    # only if both canonicalized to the same bytes.
    assert issuer.sign(unsigned) == signed_by_js


@pytest.mark.parametrize(
    "name",
    [
        "Control \b back\fform\x01\x1f\x7f end\r\n",
        "Emoji 🎓🤖👩🏽‍💻 and a flag 🇪🇺",
        "עברית: הסמכה בלמידת מכונה",
        "العربية \u200fشهادة\u200f mixed with English",
        "Tab\tand \"quotes\" and \\backslash",
    ],
)
def test_unusual_names_sign_and_verify_in_both_directions(
    reference: Reference, issuer: Issuer, make_credential: Callable[..., dict[str, Any]], name: str
) -> None:
    # Put the raw text in (the builder would strip control characters): canonicalization
    # itself must agree between the implementations.
    unsigned = changed(make_credential(), ("credentialSubject", "achievement", "name"), name)
    unsigned["issuer"]["name"] = name

    ours = issuer.sign(unsigned)
    theirs = reference.sign(unsigned, issuer.key)

    assert reference.verify(ours)["verified"]
    assert python_verify(theirs).verified
    assert ours["proof"]["proofValue"] == theirs["proof"]["proofValue"]


def test_a_did_web_issuer_verifies_after_key_rotation(
    reference: Reference, make_credential: Callable[..., dict[str, Any]]
) -> None:
    from upskill.credentials import openbadges

    old_key, new_key = fixed_key(11), fixed_key(12)
    document = did.did_web_document(
        "upskill.example", [("key-1", old_key.public_key()), ("key-2", new_key.public_key())])
    issuer_id = document["id"]
    profile = openbadges.Issuer(issuer_id, "Upskill Academy")
    credentials = [
        proofs.sign(make_credential(issuer=profile), key, f"{issuer_id}#{key_id}", ISSUED_AT)
        for key, key_id in ((old_key, "key-1"), (new_key, "key-2"))
    ]

    js = reference.verify_many([reference.request(doc, did_documents=[document])
                                for doc in credentials])

    resolve = did.key_resolver([document])
    for credential, js_result in zip(credentials, js, strict=True):
        assert js_result["verified"], js_result["errors"]
        assert proofs.verify(credential, resolve, now=NOW).verified
    # Dropping the old key from the document makes its credentials unverifiable.
    without_old = did.did_web_document("upskill.example", [("key-2", new_key.public_key())])
    assert not reference.verify(credentials[0], did_documents=[without_old])["verified"]
    assert not proofs.verify(credentials[0], did.key_resolver([without_old]), now=NOW).verified
