"""Bitstring Status List: bit order, the encoding, and reading a credential's status."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.credentials.conftest import (
    NOW,
    REVOCATION_LIST,
    SUSPENSION_LIST,
    Issuer,
    signed_status_list,
)
from upskill.credentials import did, status_list


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = status_list.new_bitstring()
    for index in (0, 7, 9):
        status_list.set_bit(bits, index, True)
    assert bits[:2] == bytes([0b1000_0001, 0b0100_0000])
    assert [status_list.get_bit(bits, i) for i in range(10)] == [
        True, False, False, False, False, False, False, True, False, True]


def test_a_new_list_has_the_minimum_size_and_encodes_as_unpadded_base64url_gzip() -> None:
    bits = status_list.new_bitstring(10)
    assert len(bits) * 8 == status_list.MIN_ENTRIES
    encoded = status_list.encode(bits)
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    body = encoded[1:]
    assert gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == bits


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(0, status_list.MIN_ENTRIES - 1), max_size=30),
       st.integers(0, status_list.MIN_ENTRIES - 1))
def test_set_bits_read_back_and_nothing_else_changes(indices: set[int], probe: int) -> None:
    encoded = status_list.encode(status_list.new_bitstring())
    for index in indices:
        encoded = status_list.set(encoded, index, True)
    assert status_list.get(encoded, probe) == (probe in indices)
    if indices:
        cleared = status_list.set(encoded, min(indices), False)
        assert not status_list.get(cleared, min(indices))


def test_short_lists_and_out_of_range_indices_are_refused() -> None:
    with pytest.raises(ValueError, match="131072"):
        status_list.encode(bytes(100))
    encoded = status_list.encode(status_list.new_bitstring())
    with pytest.raises(IndexError):
        status_list.get(encoded, status_list.MIN_ENTRIES)
    with pytest.raises(IndexError):
        status_list.get(encoded, -1)


@pytest.mark.parametrize("encoded", ["", "zabc", "u!!!", "u" + base64.urlsafe_b64encode(
    b"not gzip").decode(), "u" + base64.urlsafe_b64encode(gzip.compress(bytes(10))).decode()])
def test_malformed_encoded_lists_raise_value_error(encoded: str) -> None:
    with pytest.raises(ValueError, match=r"encodedList|at least"):
        status_list.decode(encoded)


def test_a_gzip_bomb_is_not_inflated() -> None:
    bomb = gzip.compress(bytes(status_list.MAX_DECODED_BYTES + 1))
    encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    with pytest.raises(ValueError, match="inflates to more than"):
        status_list.decode(encoded)


def _lists(*documents: dict[str, Any]) -> dict[str, Any]:
    return {document["id"]: document for document in documents}


def test_status_bits_are_read_from_lists_the_issuer_signed(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())
    lists = _lists(signed_status_list(issuer, REVOCATION_LIST, "revocation", [4242]),
                   signed_status_list(issuer, SUSPENSION_LIST, "suspension", [4241]))
    result = status_list.credential_status(credential, lists, did.key_resolver(), now=NOW)
    assert result == status_list.StatusResult(checked=True, revoked=True, suspended=False)


def test_a_tampered_missing_or_mismatched_list_is_reported_not_trusted(
    issuer: Issuer, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = issuer.sign(make_credential())
    revocation = signed_status_list(issuer, REVOCATION_LIST, "revocation")
    suspension = signed_status_list(issuer, SUSPENSION_LIST, "suspension")
    bits = status_list.new_bitstring()
    status_list.set_bit(bits, 4242, True)
    tampered = {**revocation, "credentialSubject": {
        **revocation["credentialSubject"], "encodedList": status_list.encode(bits)}}
    cases = {
        "does not verify": _lists(tampered, suspension),
        "is not available": _lists(suspension),
        "for another purpose": {REVOCATION_LIST: suspension, SUSPENSION_LIST: suspension},
    }
    for reason, lists in cases.items():
        result = status_list.credential_status(credential, lists, did.key_resolver(), now=NOW)
        assert not result.checked, reason
        assert any(reason in error for error in result.errors), (reason, result.errors)


def test_status_of_garbage_is_answered() -> None:
    assert not status_list.credential_status("x", {}, did.key_resolver()).checked
    no_status = status_list.credential_status({"id": "urn:x"}, {}, did.key_resolver())
    assert no_status == status_list.StatusResult(checked=True)
