"""eddsa-rdfc-2022 proofs in Python alone: signing, tamper detection, refusal to sign
what would not be covered, and verify's promise never to raise on bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.credentials.conftest import ISSUED_AT, NOW, Issuer, fixed_key
from upskill.credentials import did, proofs
from upskill.credentials.multibase import encode_multibase

RESOLVE = did.key_resolver()


def verify(document: Any, **options: Any) -> proofs.VerificationResult:
    return proofs.verify(document, RESOLVE, now=options.pop("now", NOW), **options)


@pytest.fixture
def signed(issuer: Issuer, make_credential: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return issuer.sign(make_credential())


def test_a_signed_credential_verifies_and_survives_a_json_round_trip(
    signed: dict[str, Any],
) -> None:
    assert signed["proof"]["type"] == "DataIntegrityProof"
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert signed["proof"]["proofValue"].startswith("z")
    assert verify(signed) == proofs.VerificationResult(True, [], proof_verified=True)
    assert verify(json.loads(json.dumps(signed))).verified


def test_signing_is_deterministic_and_leaves_the_input_alone(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    unsigned = make_credential()
    before = copy.deepcopy(unsigned)
    assert issuer.sign(unsigned) == issuer.sign(unsigned)
    assert unsigned == before


def test_another_key_claiming_the_issuers_method_is_rejected(signed: dict[str, Any]) -> None:
    impostor = fixed_key(8).public_key()
    result = proofs.verify(signed, lambda method: impostor, now=NOW)
    assert not result.verified
    assert "signature does not match" in result.errors[0]


def test_a_key_not_controlled_by_the_issuer_is_rejected(
    make_credential: Callable[..., dict[str, Any]],
) -> None:
    stranger = fixed_key(9)
    forged = proofs.sign(make_credential(), stranger,
                         did.did_key_verification_method(stranger.public_key()), ISSUED_AT)
    result = verify(forged)
    assert not result.verified
    assert "not controlled by issuer" in result.errors[0]


def _string_leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() if key not in ("@context", "proofValue")
                for leaf in _string_leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _string_leaves(value, (*path, i))]
    return [path] if isinstance(node, str) else []


FIXTURES_OK = [HealthCheck.function_scoped_fixture]  # the fixture is read-only here


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES_OK)
@given(data=st.data())
def test_changing_any_string_in_the_credential_breaks_verification(
    signed: dict[str, Any], data: st.DataObject
) -> None:
    leaves = _string_leaves(signed)
    path = data.draw(st.sampled_from(leaves))
    tampered = copy.deepcopy(signed)
    target: Any = tampered
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(st.text(min_size=1).filter(lambda t: t != target[path[-1]]))
    assert not verify(tampered).verified


def test_an_expired_credential_is_genuine_but_not_verified(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())
    result = verify(credential, now=ISSUED_AT + timedelta(days=731))
    assert (result.verified, result.proof_verified, result.expired) == (False, True, True)
    assert "expired" in result.errors[0]
    early = verify(credential, now=ISSUED_AT - timedelta(days=1))
    assert (early.verified, early.not_yet_valid) == (False, True)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.update(favouriteColour="blue"), "favouriteColour"),
        (lambda d: d["credentialSubject"]["achievement"].update(secretNote="x"), "secretNote"),
        (lambda d: d["credentialSubject"].update(grade={"value": 1}), "grade"),
        (lambda d: d.update(id="credential-17"), "credential-17"),
        (lambda d: d.update(type=["VerifiableCredential", "Diploma"]), "Diploma"),
        (lambda d: d["@context"].append("https://example.org/other-context.json"),
         "https://example.org/other-context.json"),
    ],
)
def test_a_document_with_anything_that_would_go_unsigned_is_refused(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]],
    change: Callable[[dict[str, Any]], None], named: str,
) -> None:
    document = make_credential()
    change(document)
    with pytest.raises(proofs.UnsignableDocument, match=named):
        issuer.sign(document)


def test_a_naive_creation_time_is_refused(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(ValueError, match="time zone"):
        proofs.sign(make_credential(), issuer.key, issuer.verification_method, datetime(2026, 1, 1))


def test_canonical_form_escapes_control_characters_as_rdfc_requires(issuer: Issuer) -> None:
    # Pitfall 2: URDNA2015 in pyld leaves \b and \f raw; RDFC-1.0 escapes them.
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x:1",
                "type": ["VerifiableCredential"], "name": "a\bb\fc\x01d\x7fe\u00e9"}
    assert '"a\\bb\\fc\\u0001d\\u007Fe\u00e9"' in proofs.canonicalize(document)


def _garbage_proofs(signed: dict[str, Any]) -> list[Any]:
    proof = signed["proof"]
    return [
        None, "proof", [], [proof, proof], {**proof, "proofValue": "not multibase"},
        {**proof, "proofValue": "z0OIl"}, {**proof, "proofValue": 12},
        {**proof, "proofValue": encode_multibase(b"short")},
        {**proof, "proofValue": "z" + "1" * 5000},
        {**proof, "type": "Ed25519Signature2020"}, {**proof, "cryptosuite": "eddsa-2022"},
        {**proof, "proofPurpose": "authentication"}, {**proof, "verificationMethod": 7},
        {**proof, "verificationMethod": "did:key:zNotAKey#zNotAKey"},
        {**proof, "verificationMethod": "https://upskill.example/keys/1"},
        {**proof, "created": "yesterday"},
        {k: v for k, v in proof.items() if k != "proofValue"},
    ]


def test_malformed_proofs_are_answered_never_raised(signed: dict[str, Any]) -> None:
    for garbage in _garbage_proofs(signed):
        result = verify({**signed, "proof": garbage})
        assert not result.verified, garbage
        assert result.errors, garbage


@pytest.mark.parametrize(
    "document",
    [None, [], "a credential", 42, {}, {"proof": {}},
     {"@context": 5, "proof": {"type": "DataIntegrityProof"}}],
)
def test_documents_that_are_not_credentials_are_answered(document: Any) -> None:
    result = verify(document)
    assert not result.verified
    assert result.errors


def test_an_unknown_verification_method_is_answered(signed: dict[str, Any]) -> None:
    def nobody(method: str) -> proofs.PublicKey:
        raise proofs.UnknownVerificationMethod(method)

    result = proofs.verify(signed, nobody, now=NOW)
    assert not result.verified
    assert "cannot resolve" in result.errors[0]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES_OK)
@given(key=st.sampled_from(["@context", "proof", "issuer", "credentialSubject", "validUntil",
                            "type", "id", "name"]), value=JSON)
def test_verify_never_raises_whatever_a_field_holds(
    signed: dict[str, Any], key: str, value: Any
) -> None:
    result = verify({**signed, key: value})
    assert isinstance(result.verified, bool)
    if value != signed[key]:
        assert not result.verified


def test_a_deeply_nested_document_is_answered_not_a_recursion_error(
    signed: dict[str, Any],
) -> None:
    deep: dict[str, Any] = {"name": "x"}
    for _ in range(500):
        deep = {"https://upskill.example/vocab#part": deep}
    result = verify({**signed, "credentialSubject": deep})
    assert not result.verified
    assert "nested more than" in result.errors[0]


def test_the_faster_pipeline_gives_what_plain_pyld_gives(
    make_credential: Callable[..., dict[str, Any]],
) -> None:
    # proofs remembers processed contexts across documents and skips to_rdf's second
    # expansion with two private pyld steps; a pyld release that changes what they do
    # must fail here rather than change signatures.
    import pyoxigraph as ox
    from pyld import jsonld

    from upskill.credentials.document_loader import load_document

    def plain(document: dict[str, Any]) -> str:
        nquads = jsonld.JsonLdProcessor().to_rdf(document, {
            "documentLoader": load_document, "base": None, "format": "application/n-quads"})
        dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        return "".join(sorted(f"{quad} .\n" for quad in dataset))

    documents = [make_credential(), make_credential(alignments=[], evidence=[]),
                 make_credential(subject_id=None, revocation=None)]
    for _ in range(2):  # the second round runs on remembered contexts
        for document in documents:
            assert proofs.canonicalize(document) == plain(document)


def test_a_text_direction_is_refused_because_it_would_not_be_signed(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    document = make_credential()
    document["name"] = {"@value": "שלום", "@language": "he", "@direction": "rtl"}
    with pytest.raises(proofs.UnsignableDocument, match="@direction"):
        issuer.sign(document)


def test_a_context_inlined_in_a_document_is_read_afresh_after_it_changes() -> None:
    inline: dict[str, Any] = {"favourite": {"@id": "https://upskill.example/vocab#favourite",
                            "@context": {"colour": "https://upskill.example/vocab#colour"}}}
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", inline],
                "id": "urn:x:1", "type": ["VerifiableCredential"],
                "favourite": {"colour": "blue"}}
    before = proofs.canonicalize(document)
    inline["favourite"]["@context"]["colour"] = "https://upskill.example/vocab#hue"
    after = proofs.canonicalize(document)
    assert "vocab#colour" in before
    assert "vocab#hue" in after
    assert "vocab#colour" not in after
