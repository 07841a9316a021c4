"""Bitstring Status List (W3C): revocation and suspension bits, and checking them.

A list is a bitstring of at least 131,072 entries (16 KiB, so that a list
does not reveal whose credential is whose by its size). Entry 0 is the
left-most bit: the most significant bit of the first byte. It travels as
``encodedList`` = ``"u"`` + base64url (no padding) of the GZIP-compressed
bitstring, inside a status list credential that the issuer signs (the caller
signs the document :func:`status_list_credential` builds, with
:func:`upskill.credentials.proofs.sign`).

A credential points at a bit with a ``BitstringStatusListEntry``
(:func:`status_entry`); :func:`credential_status` reads the bits back, after
verifying each list credential and checking that the same issuer signed it.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from upskill.credentials.proofs import PublicKey, format_xsd_datetime, verify

__all__ = [
    "MIN_ENTRIES",
    "STATUS_PURPOSES",
    "VC_V2_CONTEXT",
    "StatusResult",
    "credential_status",
    "decode",
    "encode",
    "get",
    "get_bit",
    "new_bitstring",
    "set",
    "set_bit",
    "status_entry",
    "status_list_credential",
]

MIN_ENTRIES = 131_072
# A list of a million credentials is 128 KiB; refuse to inflate more than this
# from an encodedList someone handed us (a gzip bomb is a few KB).
MAX_DECODED_BYTES = 16 * 1024 * 1024
STATUS_PURPOSES = ("revocation", "suspension")
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"


def new_bitstring(entries: int = MIN_ENTRIES) -> bytearray:
    """All bits clear; ``entries`` is rounded up to whole bytes and to the 131,072 minimum."""
    return bytearray((max(entries, MIN_ENTRIES) + 7) // 8)


def _check_index(bits: bytes | bytearray, index: int) -> None:
    if not 0 <= index < len(bits) * 8:
        raise IndexError(f"status list index {index} outside 0..{len(bits) * 8 - 1}")


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    _check_index(bits, index)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int, value: bool) -> None:
    _check_index(bits, index)
    if value:
        bits[index // 8] |= 0x80 >> (index % 8)
    else:
        bits[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF


def encode(bits: bytes | bytearray) -> str:
    """``encodedList`` for a bitstring of at least 131,072 entries."""
    if len(bits) * 8 < MIN_ENTRIES:
        raise ValueError(f"a status list has at least {MIN_ENTRIES} entries")
    # mtime=0: the same bits always encode to the same string.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytearray:
    """The bitstring in an ``encodedList``; ValueError for anything malformed or too large."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be a base64url multibase string starting with 'u'")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"encodedList is not base64url: {error}") from error
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
    try:
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except zlib.error as error:
        raise ValueError(f"encodedList is not GZIP data: {error}") from error
    if inflater.unconsumed_tail:
        raise ValueError(f"encodedList inflates to more than {MAX_DECODED_BYTES} bytes")
    if len(bits) * 8 < MIN_ENTRIES:
        raise ValueError(f"a status list has at least {MIN_ENTRIES} entries")
    return bytearray(bits)


def get(encoded: str, index: int) -> bool:
    return get_bit(decode(encoded), index)


def set(encoded: str, index: int, value: bool) -> str:  # shadows the builtin: unused here
    """A new ``encodedList`` with entry ``index`` set to ``value``."""
    bits = decode(encoded)
    set_bit(bits, index, value)
    return encode(bits)


def status_entry(list_url: str, index: int, status_purpose: str) -> dict[str, Any]:
    """The ``credentialStatus`` entry pointing at bit ``index`` of the list at ``list_url``."""
    if index < 0:
        raise ValueError("a status list index is not negative")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": status_purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    *,
    list_url: str,
    issuer: str,
    status_purpose: str,
    encoded_list: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """The unsigned status list credential served at ``list_url`` (sign it with proofs.sign).

    ``issuer`` must be the issuer of the credentials that point into the list:
    verifiers reject a list signed by anyone else.
    """
    document: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
    }
    if valid_from is not None:
        document["validFrom"] = format_xsd_datetime(valid_from)
    if valid_until is not None:
        document["validUntil"] = format_xsd_datetime(valid_until)
    document["credentialSubject"] = {
        "id": f"{list_url}#list",
        # A plain string, not a list: the reference verifier insists.
        "type": "BitstringStatusList",
        "statusPurpose": status_purpose,
        "encodedList": encoded_list,
    }
    return document


@dataclass(frozen=True)
class StatusResult:
    """The credential's status bits. ``checked`` is False when a list could not be
    trusted or read (then ``errors`` say why and the flags mean nothing)."""

    checked: bool
    revoked: bool = False
    suspended: bool = False
    errors: list[str] = field(default_factory=list)


def _issuer_id(document: Mapping[str, Any]) -> object:
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _entries(credential: Mapping[str, Any]) -> list[dict[str, Any]]:
    status = credential.get("credentialStatus")
    entries = status if isinstance(status, list) else [status]
    return [
        entry
        for entry in entries
        if isinstance(entry, dict) and entry.get("type") == "BitstringStatusListEntry"
    ]


def _entry_bit(
    credential: Mapping[str, Any],
    entry: Mapping[str, Any],
    status_lists: Mapping[str, object],
    resolve_key: Callable[[str], PublicKey],
    now: datetime | None,
) -> bool:
    """The bit an entry points at; ValueError with the reason when it cannot be trusted."""
    url = entry.get("statusListCredential")
    list_credential = status_lists.get(url) if isinstance(url, str) else None
    if not isinstance(list_credential, dict):
        raise ValueError(f"status list {url!r} is not available")
    result = verify(list_credential, resolve_key, now=now)
    if not result.verified:
        raise ValueError(f"status list {url!r} does not verify: {'; '.join(result.errors)}")
    if _issuer_id(list_credential) != _issuer_id(credential):
        raise ValueError(f"status list {url!r} was issued by someone else")
    types = list_credential.get("type")
    subject = list_credential.get("credentialSubject")
    if not (isinstance(types, list) and "BitstringStatusListCredential" in types):
        raise ValueError(f"{url!r} is not a BitstringStatusListCredential")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        raise ValueError(f"{url!r} holds no BitstringStatusList")
    if subject.get("statusPurpose") != entry.get("statusPurpose"):
        raise ValueError(f"status list {url!r} is for another purpose")
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str | int) or not str(raw_index).isdecimal():
        raise ValueError("statusListIndex is not a non-negative integer")
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise ValueError(f"status list {url!r} has no encodedList")
    try:
        return get(encoded, int(raw_index))
    except IndexError as error:
        raise ValueError(str(error)) from error


def credential_status(
    credential: object,
    status_lists: Mapping[str, object],
    resolve_key: Callable[[str], PublicKey],
    *,
    now: datetime | None = None,
) -> StatusResult:
    """Read the revocation and suspension bits of ``credential``. Never raises on bad input.

    ``status_lists`` maps a status list credential URL to its (signed) document,
    fetched by the caller; each list is verified with ``resolve_key`` and must
    have the credential's issuer. A credential without status entries is
    ``checked`` with both flags False.
    """
    if not isinstance(credential, dict):
        return StatusResult(False, errors=["a credential is a JSON object"])
    flags = {purpose: False for purpose in STATUS_PURPOSES}
    errors = []
    for entry in _entries(credential):
        purpose = entry.get("statusPurpose")
        if purpose not in flags:
            continue
        try:
            flags[purpose] = flags[purpose] or _entry_bit(
                credential, entry, status_lists, resolve_key, now
            )
        except ValueError as error:
            errors.append(str(error))
    return StatusResult(
        checked=not errors,
        revoked=flags["revocation"],
        suspended=flags["suspension"],
        errors=errors,
    )
