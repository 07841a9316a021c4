"""The issuer's identity and signing keys.

- Identity: with ``UPSKILL_CREDENTIALS_DOMAIN`` set, the issuer is ``did:web:<domain>`` and each
  key is the verification method ``did:web:<domain>#key-<n>``; ``/.well-known/did.json`` lists
  every key, current and retired, so that credentials signed before a rotation still verify.
  Without a domain (a local installation) the issuer is the ``did:key`` of the key that signs:
  self-describing, so it verifies with no document at all, but it changes with the key.
- Private keys are files, never database rows: ``UPSKILL_CREDENTIALS_KEY_FILE`` (a PEM secret
  the operator provides) holds the current key; otherwise (embedded mode) keys are generated on
  first use into ``CREDENTIALS_KEY_DIR/issuer-key-<n>.pem`` (mode 0600) and kept after
  rotation, because a status list of a did:key issuer can only be re-signed by that key.
  Production never generates a key: :class:`KeyUnavailable` names the setting instead.
- ``IssuerKey`` rows record the public halves and which one is current.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from upskill.core.errors import Conflict
from upskill.credentials import did
from upskill.credentials.models import IssuerKey
from upskill.credentials.multibase import decode_multikey, encode_multikey
from upskill.credentials.proofs import PublicKey

__all__ = [
    "KeyUnavailable",
    "SigningIdentity",
    "current_key",
    "did_document",
    "identity_for_issuer",
    "issuer_id",
    "resolver",
    "rotate",
    "signing_identity",
]


class KeyUnavailable(ImproperlyConfigured):
    """No usable signing key: a configuration problem the operator must fix (the message says
    which setting)."""


@dataclass(frozen=True)
class SigningIdentity:
    """What signing needs: who the issuer is, which method names the key, and the key."""

    issuer: str
    verification_method: str
    private_key: Ed25519PrivateKey
    key: IssuerKey


def _domain() -> str:
    return str(settings.CREDENTIALS_DOMAIN or "")


def _key_dir() -> Path:
    return Path(settings.CREDENTIALS_KEY_DIR)


def _key_path(number: int) -> Path:
    return _key_dir() / f"issuer-key-{number}.pem"


def _public_of(key: IssuerKey) -> PublicKey:
    return decode_multikey(key.public_key_multibase)


def issuer_id(key: IssuerKey) -> str:
    """The issuer DID credentials signed with ``key`` carry today."""
    domain = _domain()
    return did.did_web(domain) if domain else did.did_key_of(_public_of(key))


def _verification_method(issuer: str, key: IssuerKey) -> str:
    if issuer.startswith("did:web:"):
        return f"{issuer}#{key.fragment}"
    return did.did_key_verification_method(_public_of(key))


# ----------------------------------------------------------------------------- key files


def _read_pem(path: Path, setting: str) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyUnavailable(f"{setting}: cannot read the signing key {path}: {error}") from error
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyUnavailable(f"{setting}: {path} is not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnavailable(f"{setting}: {path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _generate_file(number: int) -> Ed25519PrivateKey:
    """Create ``issuer-key-<number>.pem`` (0600), or read it if another process just did."""
    if settings.PRODUCTION:
        raise KeyUnavailable(
            "UPSKILL_CREDENTIALS_KEY_FILE is not set: production never generates a credential "
            "signing key. Generate an Ed25519 key (openssl genpkey -algorithm ed25519), keep it "
            "as a secret file and point UPSKILL_CREDENTIALS_KEY_FILE at it.")
    path = _key_path(number)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_pem(path, "UPSKILL_CREDENTIALS_KEY_DIR")
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key


def _configured_key() -> Ed25519PrivateKey | None:
    path = str(settings.CREDENTIALS_KEY_FILE or "")
    return _read_pem(Path(path), "UPSKILL_CREDENTIALS_KEY_FILE") if path else None


def _private_key(key: IssuerKey) -> Ed25519PrivateKey:
    """The private half of ``key``, from the configured file or the key directory."""
    candidates: list[Ed25519PrivateKey] = []
    configured = _configured_key()
    if configured is not None:
        candidates.append(configured)
    path = _key_path(key.number)
    if path.exists():
        candidates.append(_read_pem(path, "UPSKILL_CREDENTIALS_KEY_DIR"))
    for candidate in candidates:
        if encode_multikey(candidate.public_key()) == key.public_key_multibase:
            return candidate
    raise KeyUnavailable(
        f"The private key of issuer key {key.number} ({key.public_key_multibase}) is in neither "
        f"UPSKILL_CREDENTIALS_KEY_FILE nor {path}.")


# ----------------------------------------------------------------------------- registry


def _register(private_key: Ed25519PrivateKey, number: int) -> IssuerKey:
    return IssuerKey.objects.create(
        number=number, public_key_multibase=encode_multikey(private_key.public_key()),
        is_current=True)


def _next_number() -> int:
    last = IssuerKey.objects.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def current_key() -> IssuerKey:
    """The current signing key, registering it on first use: read from
    ``UPSKILL_CREDENTIALS_KEY_FILE``, or generated (embedded mode only). Raises KeyUnavailable
    when the configured file holds a key that is not the registered current one (rotate first)."""
    current = IssuerKey.objects.filter(is_current=True).first()
    configured = _configured_key()
    if current is not None:
        if configured is not None and \
                encode_multikey(configured.public_key()) != current.public_key_multibase:
            raise KeyUnavailable(
                "UPSKILL_CREDENTIALS_KEY_FILE holds a key that is not the registered current "
                "key; run `manage.py credentials rotate-key` to make it current.")
        return current
    try:
        with transaction.atomic():
            number = _next_number()
            return _register(configured or _generate_file(number), number)
    except IntegrityError:
        # Another process registered the first key at the same moment: use theirs.
        return IssuerKey.objects.get(is_current=True)


def signing_identity() -> SigningIdentity:
    """The issuer, verification method and private key new credentials are signed with."""
    key = current_key()
    issuer = issuer_id(key)
    return SigningIdentity(issuer, _verification_method(issuer, key), _private_key(key), key)


def identity_for_issuer(issuer: str) -> SigningIdentity:
    """How to sign as ``issuer`` (a status list of credentials issued under it): for our
    did:web, the current key; for a did:key, that very key. KeyUnavailable if it is not ours
    or its private half is gone."""
    if issuer.startswith("did:web:"):
        if not _domain() or issuer != did.did_web(_domain()):
            raise KeyUnavailable(f"{issuer} is not this site's did:web "
                                 "(UPSKILL_CREDENTIALS_DOMAIN changed?)")
        key = current_key()
    else:
        fingerprint = issuer.removeprefix("did:key:")
        found = IssuerKey.objects.filter(public_key_multibase=fingerprint).first()
        if found is None:
            raise KeyUnavailable(f"{issuer} is not one of this site's keys")
        key = found
    return SigningIdentity(issuer, _verification_method(issuer, key), _private_key(key), key)


def rotate() -> IssuerKey:
    """Retire the current key and make a new one current (generated in embedded mode, or the
    key now in ``UPSKILL_CREDENTIALS_KEY_FILE``). Old keys stay listed in did.json; in embedded
    mode their files stay, so statuses of credentials they signed can still change."""
    with transaction.atomic():
        current = IssuerKey.objects.select_for_update().filter(is_current=True).first()
        configured = _configured_key()
        if configured is not None:
            if not _domain():
                raise Conflict(
                    "Rotating a key from UPSKILL_CREDENTIALS_KEY_FILE needs "
                    "UPSKILL_CREDENTIALS_DOMAIN: without it the issuer is the did:key of the "
                    "old key, whose status lists only the old (no longer available) key can "
                    "re-sign.")
            if current is not None and \
                    encode_multikey(configured.public_key()) == current.public_key_multibase:
                raise Conflict("UPSKILL_CREDENTIALS_KEY_FILE still holds the current key: put "
                               "the new key in that file first, then rotate.")
        number = _next_number()
        new_private = configured or _generate_file(number)
        if current is not None:
            current.is_current = False
            current.retired_at = timezone.now()
            current.save(update_fields=["is_current", "retired_at"])
        return _register(new_private, number)


# ----------------------------------------------------------------------------- verifying


def did_document() -> dict[str, Any] | None:
    """Our ``/.well-known/did.json``: every key, oldest first; None without a domain."""
    domain = _domain()
    if not domain:
        return None
    keys = list(IssuerKey.objects.order_by("number"))
    if not keys:
        keys = [current_key()]
    return did.did_web_document(domain, [(key.fragment, _public_of(key)) for key in keys])


def resolver() -> Callable[[str], PublicKey]:
    """A key resolver for proofs.verify: any did:key, plus our own did:web keys. No network."""
    document = did_document()
    return did.key_resolver([document] if document is not None else [])
