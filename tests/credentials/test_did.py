"""did:key and did:web: identifiers, documents, rotation and key resolution."""

from __future__ import annotations

import pytest

from tests.credentials.conftest import fixed_key
from upskill.credentials import did, proofs
from upskill.credentials.multibase import (
    base58btc_decode,
    base58btc_encode,
    decode_multikey,
    encode_multikey,
)


def test_a_did_key_is_the_multikey_of_the_public_key() -> None:
    public = fixed_key(1).public_key()
    identifier = did.did_key_of(public)
    assert identifier.startswith("did:key:z6Mk")  # 0xed01 prefix, base58btc
    fingerprint = identifier.removeprefix("did:key:")
    assert base58btc_decode(fingerprint[1:])[:2] == b"\xed\x01"
    assert did.did_key_verification_method(public) == f"{identifier}#{fingerprint}"
    assert did.resolve_did_key(did.did_key_verification_method(public)) == public


def test_base58btc_keeps_leading_zero_bytes() -> None:
    for data in (b"", b"\0", b"\0\0\x01", bytes(range(40))):
        assert base58btc_decode(base58btc_encode(data)) == data


@pytest.mark.parametrize(
    "method",
    ["did:web:upskill.example#key-1", "did:key:z6Mkabc", "did:key:zQ3sh#zQ3sh",
     f"{did.did_key_of(fixed_key(1).public_key())}#other"],
)
def test_resolve_did_key_refuses_anything_else(method: str) -> None:
    with pytest.raises(proofs.UnknownVerificationMethod):
        did.resolve_did_key(method)


def test_a_multikey_without_the_ed25519_prefix_is_refused() -> None:
    raw = encode_multikey(fixed_key(1).public_key())
    unprefixed = "z" + base58btc_encode(base58btc_decode(raw[1:])[2:])
    with pytest.raises(ValueError, match="0xed01"):
        decode_multikey(unprefixed)


def test_did_web_document_lists_rotated_keys_as_assertion_methods() -> None:
    old, new = fixed_key(2).public_key(), fixed_key(3).public_key()
    document = did.did_web_document("Upskill.Example", [("key-1", old), ("#key-2", new)])
    assert document["id"] == "did:web:upskill.example"
    assert document["@context"] == [did.DID_CONTEXT, did.MULTIKEY_CONTEXT]
    assert document["assertionMethod"] == ["did:web:upskill.example#key-1",
                                           "did:web:upskill.example#key-2"]
    assert document["verificationMethod"][0] == {
        "id": "did:web:upskill.example#key-1", "type": "Multikey",
        "controller": "did:web:upskill.example", "publicKeyMultibase": encode_multikey(old)}
    resolve = did.key_resolver([document])
    assert resolve("did:web:upskill.example#key-1") == old
    assert resolve("did:web:upskill.example#key-2") == new
    with pytest.raises(proofs.UnknownVerificationMethod):
        resolve("did:web:upskill.example#key-3")


def test_only_assertion_methods_resolve() -> None:
    document = did.did_web_document("upskill.example", [("key-1", fixed_key(2).public_key())])
    document["assertionMethod"] = []
    with pytest.raises(proofs.UnknownVerificationMethod):
        did.key_resolver([document])("did:web:upskill.example#key-1")


def test_did_web_encodes_a_port_and_refuses_urls() -> None:
    assert did.did_web("localhost:8000") == "did:web:localhost%3A8000"
    for bad in ("https://upskill.example", "upskill.example/path", ""):
        with pytest.raises(ValueError, match="bare host name"):
            did.did_web(bad)
    with pytest.raises(ValueError, match="unique"):
        did.did_web_document("upskill.example", [("k", fixed_key(2).public_key()),
                                                 ("k", fixed_key(3).public_key())])
