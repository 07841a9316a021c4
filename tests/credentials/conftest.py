"""Credential test fixtures: fixed keys, a full OB 3.0 credential, and the JS reference.

The reference (tools/vc-js: @digitalbazaar/vc + eddsa-rdfc-2022) runs as a
Node subprocess, offline. A test that needs it skips on a laptop without
``tools/vc-js/node_modules`` (run ``make vc-js``) and fails under ``CI=true``.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tests.conftest import require
from upskill.credentials import did, openbadges, proofs, status_list

VC_JS = Path(__file__).resolve().parents[2] / "tools" / "vc-js"
ISSUED_AT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
# Every verification in these tests happens "now" = two weeks after issue, so
# results do not depend on the wall clock.
NOW = ISSUED_AT + timedelta(days=14)
REVOCATION_LIST = "https://upskill.example/credentials/status/revocation/1"
SUSPENSION_LIST = "https://upskill.example/credentials/status/suspension/1"


def fixed_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def jwk_of(key: Ed25519PrivateKey) -> dict[str, str]:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "d": b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
    }


@dataclass(frozen=True)
class Issuer:
    key: Ed25519PrivateKey
    id: str
    verification_method: str

    def sign(self, document: dict[str, Any], created: datetime = ISSUED_AT) -> dict[str, Any]:
        return proofs.sign(document, self.key, self.verification_method, created)


@pytest.fixture
def issuer() -> Issuer:
    key = fixed_key(7)
    return Issuer(key, did.did_key_of(key.public_key()),
                  did.did_key_verification_method(key.public_key()))


@pytest.fixture
def make_credential(issuer: Issuer) -> Callable[..., dict[str, Any]]:
    """An unsigned OB 3.0 certification with every part Upskill issues; keywords override."""

    def make(**overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "credential_id": "urn:uuid:2f7c3c4e-8a51-4c1b-9d55-0c6f1b7a0001",
            "issuer": openbadges.Issuer(issuer.id, "Upskill Academy", "https://upskill.example"),
            "valid_from": ISSUED_AT,
            "valid_until": ISSUED_AT + timedelta(days=730),
            "subject_id": "did:example:learner-ada",
            "achievement_id": "https://upskill.example/programs/ml-engineer",
            "achievement_name": "Machine Learning Engineer — Certification",
            "achievement_description": "Certifies the skills of a junior ML engineer.",
            "criteria_narrative": "Pass the certification exam at or above the cut score.",
            "achievement_version": "2026.1.0",
            "alignments": [
                openbadges.Alignment("Train and evaluate models",
                                     "http://data.europa.eu/esco/skill/ml-train", "ESCO",
                                     "ceasn:Competency", "ml-train"),
                openbadges.Alignment("Deploy models", "https://upskill.example/skills/deploy"),
            ],
            "result_descriptions": [
                openbadges.ResultDescription("urn:upskill:result:outcome", "Exam outcome",
                                             "Status"),
                openbadges.ResultDescription("urn:upskill:result:band", "Score band",
                                             "PerformanceLevel", ("Pass", "Merit", "Distinction")),
            ],
            "results": [
                openbadges.Result("urn:upskill:result:outcome", status="Completed"),
                openbadges.Result("urn:upskill:result:band", value="Merit"),
            ],
            "evidence": [
                openbadges.Evidence("https://upskill.example/projects/fraud-model/42",
                                    "Card fraud model", "Graded 92/100 by the trusted grader.",
                                    "Project"),
            ],
            "revocation": openbadges.StatusListPosition(REVOCATION_LIST, 4242),
            "suspension": openbadges.StatusListPosition(SUSPENSION_LIST, 4242),
        }
        arguments.update(overrides)
        return openbadges.achievement_credential(**arguments)

    return make


def signed_status_list(issuer: Issuer, url: str, purpose: str,
                       set_indices: Sequence[int] = ()) -> dict[str, Any]:
    bits = status_list.new_bitstring()
    for index in set_indices:
        status_list.set_bit(bits, index, True)
    return issuer.sign(status_list.status_list_credential(
        list_url=url, issuer=issuer.id, status_purpose=purpose,
        encoded_list=status_list.encode(bits), valid_from=ISSUED_AT))


class Reference:
    """The JavaScript reference implementation, one Node process per call."""

    def _run(self, script: str, request: Any) -> Any:
        completed = subprocess.run(
            ["node", str(VC_JS / script)], input=json.dumps(request), capture_output=True,
            text=True, timeout=120, check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout)

    @staticmethod
    def request(credential: Any, *, status_lists: Sequence[dict[str, Any]] = (),
                did_documents: Sequence[dict[str, Any]] = (),
                now: datetime = NOW) -> dict[str, Any]:
        return {"credential": credential, "statusLists": list(status_lists),
                "didDocuments": list(did_documents), "now": proofs.format_xsd_datetime(now)}

    def verify(self, credential: Any, **options: Any) -> dict[str, Any]:
        return self._run("verify.mjs", self.request(credential, **options))

    def verify_many(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._run("verify.mjs", {"requests": requests})["results"]

    def sign(self, credential: dict[str, Any], key: Ed25519PrivateKey, *,
             verification_method: str | None = None,
             did_documents: Sequence[dict[str, Any]] = (),
             created: datetime = ISSUED_AT) -> dict[str, Any]:
        request: dict[str, Any] = {"credential": credential, "jwk": jwk_of(key),
                                   "didDocuments": list(did_documents),
                                   "created": proofs.format_xsd_datetime(created)}
        if verification_method:
            request["verificationMethod"] = verification_method
        return self._run("sign.mjs", request)

    def contexts(self) -> dict[str, Any]:
        return self._run("contexts.mjs", None)


@pytest.fixture(scope="session")
def reference() -> Reference:
    require(shutil.which("node") is not None, "node is not installed")
    require((VC_JS / "node_modules" / "@digitalbazaar" / "vc").is_dir(),
            "tools/vc-js/node_modules is missing: run `make vc-js`")
    return Reference()


@pytest.fixture(autouse=True)
def _quick_exam_preparation(quick_exam_preparation: None) -> None:
    """The exams these tests pass are not what they look at (see tests/conftest.py)."""
