"""Multibase base58btc and Ed25519 Multikey encoding, as Data Integrity and did:key use them.

A proof value is ``"z" + base58btc(signature)``; an Ed25519 public key in a
Multikey verification method (``publicKeyMultibase``) and in a ``did:key`` is
``"z" + base58btc(0xed 0x01 + 32 key bytes)``: without the two-byte multicodec
prefix other verifiers cannot tell which kind of key it is.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ED25519_MULTICODEC",
    "base58btc_decode",
    "base58btc_encode",
    "decode_multibase",
    "decode_multikey",
    "encode_multibase",
    "encode_multikey",
]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}
ED25519_MULTICODEC = b"\xed\x01"
# Nothing Upskill decodes is longer than a signature or a key; a bound keeps a
# hostile 10 MB "proofValue" from costing quadratic time.
_MAX_ENCODED_CHARS = 1024


def base58btc_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Decode base58btc; raises ValueError on a character outside the alphabet."""
    if len(text) > _MAX_ENCODED_CHARS:
        raise ValueError(f"base58btc value longer than {_MAX_ENCODED_CHARS} characters")
    number = 0
    for char in text:
        value = _INDEX.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + value
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_zeros + body


def encode_multibase(data: bytes) -> str:
    return "z" + base58btc_encode(data)


def decode_multibase(text: str) -> bytes:
    """Decode a base58btc multibase string ("z..."); raises ValueError otherwise."""
    if not text.startswith("z"):
        raise ValueError("not a base58btc multibase value (it must start with 'z')")
    return base58btc_decode(text[1:])


def encode_multikey(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return encode_multibase(ED25519_MULTICODEC + raw)


def decode_multikey(text: str) -> Ed25519PublicKey:
    """The Ed25519 key in a ``publicKeyMultibase`` value; ValueError if it is anything else."""
    data = decode_multibase(text)
    if not data.startswith(ED25519_MULTICODEC):
        raise ValueError("publicKeyMultibase does not carry the Ed25519 prefix 0xed01")
    if len(data) != len(ED25519_MULTICODEC) + 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(data[len(ED25519_MULTICODEC):])
