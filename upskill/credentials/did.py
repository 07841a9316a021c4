"""Issuer identifiers: ``did:key`` (a local installation) and ``did:web`` (a public domain).

- ``did:key:z6Mk...`` *is* the public key (multibase of 0xed01 + key bytes), so
  anyone can verify without fetching anything; its one verification method is
  ``did:key:z6Mk...#z6Mk...``.
- ``did:web:upskill.example`` is resolved from
  ``https://upskill.example/.well-known/did.json``, which
  :func:`did_web_document` builds. Key rotation adds a key and keeps the old
  ones listed (as verification and assertion methods), so credentials signed
  with an old key stay verifiable; only a compromised key should be dropped.

The resolvers here turn a verification method id into a public key for
:func:`upskill.credentials.proofs.verify`, raising
:class:`~upskill.credentials.proofs.UnknownVerificationMethod` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from upskill.credentials.multibase import decode_multikey, encode_multikey
from upskill.credentials.proofs import PublicKey, UnknownVerificationMethod

__all__ = [
    "DID_CONTEXT",
    "MULTIKEY_CONTEXT",
    "did_key_document",
    "did_key_of",
    "did_key_verification_method",
    "did_web",
    "did_web_document",
    "key_resolver",
    "resolve_did_key",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"


def did_key_of(public_key: PublicKey) -> str:
    return "did:key:" + encode_multikey(public_key)


def did_key_verification_method(public_key: PublicKey) -> str:
    fingerprint = encode_multikey(public_key)
    return f"did:key:{fingerprint}#{fingerprint}"


def resolve_did_key(verification_method: str) -> PublicKey:
    """The key of a ``did:key:z6Mk...#z6Mk...`` method; UnknownVerificationMethod otherwise."""
    did, _, fragment = verification_method.partition("#")
    if not did.startswith("did:key:"):
        raise UnknownVerificationMethod(f"{verification_method!r} is not a did:key method")
    fingerprint = did[len("did:key:"):]
    if fragment != fingerprint:
        raise UnknownVerificationMethod(
            f"{verification_method!r}: a did:key's only method is #{fingerprint}"
        )
    try:
        return decode_multikey(fingerprint)
    except ValueError as error:
        raise UnknownVerificationMethod(f"{verification_method!r}: {error}") from error


def _multikey_method(method_id: str, controller: str, public_key: PublicKey) -> dict[str, Any]:
    return {
        "id": method_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": encode_multikey(public_key),
    }


def did_key_document(public_key: PublicKey) -> dict[str, Any]:
    """The DID document a did:key resolves to (what the reference driver computes)."""
    did = did_key_of(public_key)
    method_id = did_key_verification_method(public_key)
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [_multikey_method(method_id, did, public_key)],
        "authentication": [method_id],
        "assertionMethod": [method_id],
    }


def did_web(domain: str) -> str:
    """``did:web:`` for a host name; a port's colon is percent-encoded as the method requires."""
    host = domain.strip().lower().rstrip("/")
    if not host or "/" in host or host.startswith(("http:", "https:")):
        raise ValueError(f"{domain!r} is not a bare host name (like upskill.example)")
    return "did:web:" + quote(host, safe="")


def did_web_document(domain: str, keys: Sequence[tuple[str, PublicKey]]) -> dict[str, Any]:
    """The ``/.well-known/did.json`` for ``domain`` listing every key as an assertion method.

    ``keys`` are (id, public key) pairs, newest last; an id is a fragment name
    such as ``"key-2"`` (a leading ``#`` is allowed). Keep rotated-out keys in
    the list: credentials they signed verify only while they are here.
    """
    did = did_web(domain)
    if not keys:
        raise ValueError("a DID document needs at least one key")
    methods = []
    for key_id, public_key in keys:
        fragment = key_id.removeprefix("#")
        if not fragment or "#" in fragment:
            raise ValueError(f"{key_id!r} is not a key id fragment")
        methods.append(_multikey_method(f"{did}#{fragment}", did, public_key))
    if len({method["id"] for method in methods}) != len(methods):
        raise ValueError("key ids must be unique")
    method_ids = [method["id"] for method in methods]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": method_ids,
    }


def _assertion_keys(document: Mapping[str, Any]) -> dict[str, PublicKey]:
    did = document.get("id")
    keys: dict[str, PublicKey] = {}
    methods = {
        method.get("id"): method
        for method in document.get("verificationMethod", [])
        if isinstance(method, dict)
    }
    for reference in document.get("assertionMethod", []):
        method = methods.get(reference) if isinstance(reference, str) else reference
        if not isinstance(method, dict) or method.get("type") != "Multikey":
            continue
        if method.get("controller") != did:
            continue
        try:
            keys[method["id"]] = decode_multikey(method["publicKeyMultibase"])
        except (KeyError, TypeError, ValueError):
            continue
    return keys


def key_resolver(did_documents: Iterable[Mapping[str, Any]] = ()) -> Callable[[str], PublicKey]:
    """A ``resolve_key`` for proofs.verify: any did:key, plus the assertion methods of the
    given DID documents (e.g. our own did:web document). Nothing is fetched."""
    known: dict[str, PublicKey] = {}
    for document in did_documents:
        known.update(_assertion_keys(document))

    def resolve(verification_method: str) -> PublicKey:
        if verification_method in known:
            return known[verification_method]
        if verification_method.startswith("did:key:"):
            return resolve_did_key(verification_method)
        raise UnknownVerificationMethod(
            f"{verification_method!r} is not an assertion method of a known issuer"
        )

    return resolve
