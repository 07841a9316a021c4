"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite: sign and verify.

The algorithm is the W3C one (Data Integrity EdDSA Cryptosuites v1.0, section 3.2):

1. transformation: the document without ``proof``, and the proof configuration
   (the proof without ``proofValue``, carrying the document's ``@context``),
   each expanded with pyld and canonicalized with RDFC-1.0 (pyoxigraph) into
   canonical N-Quads;
2. hashing: SHA-256 of the canonical proof configuration, then of the
   canonical document, concatenated (64 bytes);
3. proof: the Ed25519 signature of those bytes as multibase base58btc ("z...").

Two guarantees other implementations do not all give:

- Nothing unsigned. JSON-LD expansion silently drops a property no context
  defines (and a relative ``id``/``type``); a signature would then not cover it
  and anyone could change it. :func:`canonicalize` refuses such a document with
  :class:`UnsignableDocument` naming the property: the same cases the reference
  JavaScript verifier rejects in its "safe mode".
- :func:`verify` never raises on bad input: it answers ``verified=False`` with
  the reasons, so a verify page or endpoint can pass any JSON to it.

Contexts come only from :mod:`upskill.credentials.document_loader` (bundled,
never fetched).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pyld import jsonld
from pyld.identifier_issuer import IdentifierIssuer

from upskill.credentials.document_loader import (
    ContextNotBundled,
    is_served_context_part,
    load_document,
)
from upskill.credentials.multibase import decode_multibase, encode_multibase

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "PublicKey",
    "SigningKey",
    "UnknownVerificationMethod",
    "UnsignableDocument",
    "VerificationResult",
    "canonicalize",
    "format_xsd_datetime",
    "parse_xsd_datetime",
    "sign",
    "verify",
]

CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"

SigningKey = Ed25519PrivateKey
PublicKey = Ed25519PublicKey

# jsonld.js's test for an absolute IRI (or a blank node label), which its safe mode applies.
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*$")
# XML Schema dateTime with a mandatory time zone (pitfall: "2026-01-15" or a
# zone-less time means different instants to different verifiers).
_XSD_DATETIME = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)
_NOT_NESTED_KEYS = {"@id", "@type", "@index"}
# pyld recurses a few frames per level and hits Python's recursion limit near 300
# levels; no credential comes close to this.
MAX_NESTING = 64


class UnsignableDocument(ValueError):
    """Signing would leave part of the document unsigned, or it is not JSON-LD we can process."""


class UnknownVerificationMethod(LookupError):
    """A key resolver has no key for this verification method (raise it from ``resolve_key``)."""


@dataclass(frozen=True)
class VerificationResult:
    """What :func:`verify` found.

    ``verified`` is the answer: the proof checks out *and* the credential is
    within its validity period. ``proof_verified`` says whether the signature
    alone is good, so a page can say "genuine but expired". ``expired`` /
    ``not_yet_valid`` compare ``validUntil`` / ``validFrom`` with the time of
    verification. Status (revoked, suspended) is a separate check:
    :func:`upskill.credentials.status_list.credential_status`.
    """

    verified: bool
    errors: list[str] = field(default_factory=list)
    proof_verified: bool = False
    expired: bool = False
    not_yet_valid: bool = False


# --- dates -------------------------------------------------------------------------------


def format_xsd_datetime(moment: datetime) -> str:
    """``2026-01-15T10:00:00Z``: UTC, whole seconds, as the reference libraries write dates."""
    if moment.tzinfo is None:
        raise ValueError("a credential date needs a time zone (got a naive datetime)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_xsd_datetime(text: object) -> datetime:
    """An aware datetime from an XML Schema dateTime with a zone; ValueError otherwise."""
    if not isinstance(text, str) or not _XSD_DATETIME.match(text):
        raise ValueError(f"{text!r} is not an XML Schema dateTime with a time zone")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- canonicalization ----------------------------------------------------------------------


def _unsafe_references(node: Any, path: str) -> Iterator[str]:
    """Where the expanded document holds something RDF conversion would silently drop.

    ``path`` is the (expanded) property holding ``node``, to name it in the error.
    """
    if isinstance(node, list):
        for item in node:
            yield from _unsafe_references(item, path)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        datatype = node.get("@type")
        if isinstance(datatype, str) and not _ABSOLUTE_IRI.match(datatype):
            yield f"{path}: relative value type {datatype!r}"
        if "@direction" in node:
            yield f"{path}: a text direction (@direction), which RDF conversion would drop"
        return
    identifier = node.get("@id")
    if isinstance(identifier, str) and not _ABSOLUTE_IRI.match(identifier):
        yield f"{path}: relative id {identifier!r}"
    types = node.get("@type", [])
    for type_ in types if isinstance(types, list) else [types]:
        if isinstance(type_, str) and not _ABSOLUTE_IRI.match(type_):
            yield f"{path}: type {type_!r} that no context defines"
    for key, value in node.items():
        if key.startswith("_:"):
            yield f"{path}: blank node property {key!r}"
        if key not in _NOT_NESTED_KEYS:
            yield from _unsafe_references(value, key)


def _deeper_than(document: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


_PROCESSED_CONTEXTS: dict[tuple[str, int, bool, bool, bool], tuple[object, Any]] = {}
_PROCESSED_CONTEXTS_MAX = 4096


class _Processor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's processor, remembering processed contexts across documents.

    pyld caches a processed context per *active context object*, but every
    type-scoped context (OB 3.0 has one per type: Achievement, Alignment,
    Result ...) gets a fresh active-context copy, so it re-processes the same
    contexts for every node of every document: half the signing time. Keyed
    by the active context's ``_uuid`` (pyld's own cache key) and the identity
    of the local context, the same inputs return the same (never mutated)
    result object, which makes pyld's own caches hit too. ``test_proofs``
    checks the output against a plain processor's.
    """

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        uuid = active_ctx.get("_uuid") if isinstance(active_ctx, Mapping) else None
        # Only contexts that cannot change under us: a URL string, or a part of a
        # bundled context. A context inlined in a document may be edited between calls.
        stable = isinstance(local_ctx, str) or is_served_context_part(local_ctx)
        if cycles is not None or not isinstance(uuid, str) or not stable:
            return super()._process_context(active_ctx, local_ctx, options,
                                            override_protected, propagate, validate_scoped, cycles)
        key = (uuid, id(local_ctx), override_protected, propagate, validate_scoped)
        hit = _PROCESSED_CONTEXTS.get(key)
        # The stored local context keeps its id from being reused by another object.
        if hit is not None and hit[0] is local_ctx:
            return hit[1]
        result = super()._process_context(active_ctx, local_ctx, options,
                                           override_protected, propagate, validate_scoped)
        if len(_PROCESSED_CONTEXTS) >= _PROCESSED_CONTEXTS_MAX:
            _PROCESSED_CONTEXTS.clear()
        _PROCESSED_CONTEXTS[key] = (local_ctx, result)
        return result


def _rdf(processor: Any, expanded: Any) -> dict[str, list[dict[str, Any]]]:
    """pyld's RDF dataset for an already expanded document.

    The same steps as ``JsonLdProcessor.to_rdf`` after its expansion; calling
    to_rdf itself would expand the expanded document again, a quarter of the
    signing time. tests/credentials/test_proofs.py checks both give the same
    result, should a pyld release change these private methods.
    """
    issuer = IdentifierIssuer("_:b")
    node_map: dict[str, Any] = {"@default": {}}
    processor._create_node_map(expanded, node_map, "@default", issuer)
    options = {"processingMode": "json-ld-1.1", "produceGeneralizedRdf": False,
               "rdfDirection": None}
    return {
        name: processor._graph_to_rdf(graph, issuer, options)
        for name, graph in sorted(node_map.items())
        if name == "@default" or _ABSOLUTE_IRI.match(name)
    }


def _term(value: dict[str, Any]) -> ox.NamedNode | ox.BlankNode:
    text = value["value"]
    if value["type"] == "blank node":
        return ox.BlankNode(text[2:])
    return ox.NamedNode(text)


def _object(value: dict[str, Any]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if value["type"] != "literal":
        return _term(value)
    if "language" in value:
        return ox.Literal(value["value"], language=value["language"])
    return ox.Literal(value["value"], datatype=ox.NamedNode(value["datatype"]))


def _dataset(rdf: Mapping[str, list[dict[str, Any]]]) -> ox.Dataset:
    quads = []
    for graph_name, triples in rdf.items():
        graph: ox.NamedNode | ox.BlankNode | ox.DefaultGraph
        if graph_name == "@default":
            graph = ox.DefaultGraph()
        elif graph_name.startswith("_:"):
            graph = ox.BlankNode(graph_name[2:])
        else:
            graph = ox.NamedNode(graph_name)
        for triple in triples:
            quads.append(
                ox.Quad(
                    _term(triple["subject"]),
                    ox.NamedNode(triple["predicate"]["value"]),
                    _object(triple["object"]),
                    graph,
                )
            )
    return ox.Dataset(quads)


def _context_error(error: BaseException) -> ContextNotBundled | None:
    """The ContextNotBundled that pyld wrapped (it wraps loader errors a few levels deep)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ContextNotBundled):
            return seen
        cause = getattr(seen, "cause", None)
        seen = cause if isinstance(cause, BaseException) else seen.__cause__
    return None


def canonicalize(document: Mapping[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document.

    Raises UnsignableDocument when the document is not processable JSON-LD, uses a
    context that is not bundled, or would lose anything on the way to RDF (a
    property no context defines, a relative id or type).
    """
    if _deeper_than(document, MAX_NESTING):
        raise UnsignableDocument(f"the document is nested more than {MAX_NESTING} levels deep")
    dropped: list[str] = []
    processor = _Processor(on_property_dropped=lambda name: dropped.append(str(name)))
    # base None keeps relative references relative, so they are refused below (pyld would
    # otherwise resolve them against a made-up http://example.org/base/).
    options = {"documentLoader": load_document, "base": None}
    try:
        expanded = processor.expand(dict(document), options)
        if dropped:
            raise UnsignableDocument(
                "these properties are defined by no @context and would not be signed: "
                + ", ".join(sorted(set(dropped)))
            )
        problems = list(_unsafe_references(expanded, "document"))
        if problems:
            raise UnsignableDocument("; ".join(problems))
        rdf = _rdf(processor, expanded)
        dataset = _dataset(rdf)
    except jsonld.JsonLdError as error:
        missing = _context_error(error)
        if missing is not None:
            raise UnsignableDocument(str(missing)) from error
        raise UnsignableDocument(f"not processable as JSON-LD: {error}") from error
    except (ValueError, TypeError, KeyError) as error:
        if isinstance(error, UnsignableDocument):
            raise
        raise UnsignableDocument(f"not representable as RDF: {error}") from error
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    # RDFC-1.0 output is the canonical N-Quads lines in code point order.
    return "".join(sorted(f"{quad} .\n" for quad in dataset))


# --- sign ----------------------------------------------------------------------------------


def _hash_data(document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    config_hash = hashlib.sha256(canonicalize(proof_config).encode()).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured).encode()).digest()
    return config_hash + document_hash


def sign(
    document: Mapping[str, Any],
    key: SigningKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of ``document`` with an ``eddsa-rdfc-2022`` DataIntegrityProof added.

    Raises UnsignableDocument (nothing is signed) if any part of the document would
    not be covered by the signature, and ValueError for a naive ``created``.
    Deterministic: the same inputs give the same bytes (Ed25519 has no nonce).
    Store the returned dict exactly as it is: re-serializing dates or numbers
    breaks the proof.
    """
    if "proof" in document:
        raise UnsignableDocument("the document already has a proof")
    if "@context" not in document:
        raise UnsignableDocument("the document has no @context")
    proof_config: dict[str, Any] = {
        "@context": document["@context"],
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    signature = key.sign(_hash_data(document, proof_config))
    proof = {k: v for k, v in proof_config.items() if k != "@context"}
    proof["proofValue"] = encode_multibase(signature)
    return {**document, "proof": proof}


# --- verify --------------------------------------------------------------------------------


def _single_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise ValueError("only a single proof is supported")
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ValueError("the document has no proof object")
    return proof


def _check_proof_fields(proof: Mapping[str, Any], expected_purpose: str) -> None:
    if proof.get("type") != PROOF_TYPE:
        raise ValueError(f"proof type must be {PROOF_TYPE!r}, not {proof.get('type')!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ValueError(
            f"cryptosuite must be {CRYPTOSUITE!r}, not {proof.get('cryptosuite')!r}"
        )
    if proof.get("proofPurpose") != expected_purpose:
        raise ValueError(
            f"proof purpose must be {expected_purpose!r}, not {proof.get('proofPurpose')!r}"
        )
    if not isinstance(proof.get("verificationMethod"), str):
        raise ValueError("the proof names no verificationMethod")
    if "created" in proof:
        parse_xsd_datetime(proof["created"])


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _verify_proof(
    document: Mapping[str, Any],
    resolve_key: Callable[[str], PublicKey],
    expected_purpose: str,
) -> list[str]:
    """Reasons the proof fails, or [] when the signature covers this exact document."""
    try:
        proof = _single_proof(document)
        _check_proof_fields(proof, expected_purpose)
        method = proof["verificationMethod"]
        issuer = _issuer_id(document)
        # The reference verifier insists the key belongs to the issuer: a valid
        # signature by someone else's key must not make a credential "from" us.
        if issuer is not None and method.split("#", 1)[0] != issuer:
            return [f"verification method {method!r} is not controlled by issuer {issuer!r}"]
        value = proof.get("proofValue")
        if not isinstance(value, str):
            return ["the proof has no proofValue string"]
        signature = decode_multibase(value)
        if len(signature) != 64:
            return ["proofValue is not a 64-byte Ed25519 signature"]
    except ValueError as error:
        return [str(error)]
    if "@context" in proof and proof["@context"] != document.get("@context"):
        return ["the proof's @context differs from the document's"]
    try:
        public_key = resolve_key(method)
    except (LookupError, ValueError) as error:
        return [f"cannot resolve verification method {method!r}: {error}"]
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = document.get("@context")
    try:
        data = _hash_data(document, config)
    except UnsignableDocument as error:
        return [f"cannot canonicalize: {error}"]
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return ["the signature does not match the document (changed, or signed by another key)"]
    return []


def _validity_errors(document: Mapping[str, Any], now: datetime) -> tuple[list[str], bool, bool]:
    errors: list[str] = []
    expired = not_yet_valid = False
    for name in ("validFrom", "validUntil"):
        if name not in document:
            continue
        try:
            moment = parse_xsd_datetime(document[name])
        except ValueError as error:
            errors.append(f"{name}: {error}")
            continue
        if name == "validFrom" and moment > now:
            not_yet_valid = True
            errors.append(f"the credential is not valid before {document[name]}")
        if name == "validUntil" and moment < now:
            expired = True
            errors.append(f"the credential expired at {document[name]}")
    return errors, expired, not_yet_valid


def verify(
    document: object,
    resolve_key: Callable[[str], PublicKey],
    *,
    expected_proof_purpose: str = "assertionMethod",
    now: datetime | None = None,
) -> VerificationResult:
    """Check the ``eddsa-rdfc-2022`` proof and the validity period of ``document``.

    Never raises for bad input (any JSON value may be passed): the result says
    why it failed. ``resolve_key`` maps a verification method id to its public
    key and signals an unknown one with LookupError (e.g.
    UnknownVerificationMethod) or ValueError. ``now`` defaults to the current time.
    """
    if not isinstance(document, dict):
        return VerificationResult(False, ["a credential is a JSON object"])
    proof_errors = _verify_proof(document, resolve_key, expected_proof_purpose)
    validity_errors, expired, not_yet_valid = _validity_errors(
        document, now or datetime.now(UTC)
    )
    errors = proof_errors + validity_errors
    return VerificationResult(
        verified=not errors,
        errors=errors,
        proof_verified=not proof_errors,
        expired=expired,
        not_yet_valid=not_yet_valid,
    )
