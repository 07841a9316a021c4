"""The credentials' HTTP surface: the VC-API (``POST /credentials/verify`` for anyone,
``POST /credentials/issue`` for staff, also under /api/v1/credentials), the JSON download, the
status lists and did.json — and junk against the VC-API, which must be a clear 4xx, never a 500."""

# ruff: noqa: F811 - the fixtures imported from test_services are parameters here by design.
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.utils import timezone

from tests.credentials.test_services import (  # noqa: F401 - fixtures
    document_of,
    exam,
    issued,
    key_dir,
    passed,
    staff,
)
from upskill.accounts import services as accounts
from upskill.credentials import did, proofs, services

pytestmark = pytest.mark.django_db

JSON = "application/json"
PREFIXES = ["/credentials", "/api/v1/credentials"]


def post(client: Client, path: str, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data, content_type=JSON, **extra)


def assert_clear_4xx(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["error"], str) and body["detail"]
    return body


def unsigned_badge(issuer: str | None = None) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Workshop attendance",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {"id": "https://learn.example.test/workshops/1",
                            "type": ["Achievement"], "name": "Workshop",
                            "criteria": {"narrative": "Attend."}},
        },
    }
    if issuer:
        credential["issuer"] = {"id": issuer, "type": ["Profile"], "name": "Upskill"}
    return credential


@pytest.fixture
def credential_document(staff: Any) -> dict[str, Any]:
    """A credential signed with our key (quicker than passing an exam; the exam-issued ones
    are verified in the tests that need their status lists)."""
    return services.issue_document(staff, unsigned_badge())


# ----------------------------------------------------------------------------- verify


class TestVerify:
    @pytest.mark.parametrize("prefix", PREFIXES)
    def test_anyone_can_verify_a_credential_we_issued(self, client, passed, prefix):
        document = document_of(issued(passed()))
        response = post(client, f"{prefix}/verify",
                        {"verifiableCredential": document, "options": {}})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["verified"] is True and body["status"] == "valid"
        assert "credentialStatus" in body["checks"] and body["errors"] == []

    def test_a_changed_credential_is_400_with_the_reason(self, client, credential_document):
        changed = copy.deepcopy(credential_document)
        changed["validUntil"] = "2099-01-01T00:00:00Z"
        body = assert_clear_4xx(post(client, "/credentials/verify",
                                     {"verifiableCredential": changed}), 400)
        assert body["verified"] is False and body["status"] == "invalid"
        assert "signature does not match" in body["detail"]

    def test_a_revoked_credential_is_400_revoked(self, client, passed, staff):
        credential = issued(passed())
        services.revoke(staff, credential.public_id, "Misconduct")
        body = assert_clear_4xx(post(client, "/credentials/verify",
                                     {"verifiableCredential": document_of(credential)}), 400)
        assert body["status"] == "revoked"

    def test_a_proof_by_a_key_that_is_not_the_issuers_is_refused(self, client,
                                                                credential_document):
        stranger = Ed25519PrivateKey.generate()
        unsigned = {k: v for k, v in credential_document.items() if k != "proof"}
        forged = proofs.sign(unsigned, stranger,
                             did.did_key_verification_method(stranger.public_key()),
                             timezone.now())
        body = assert_clear_4xx(post(client, "/credentials/verify",
                                     {"verifiableCredential": forged}), 400)
        assert "not controlled by issuer" in body["detail"]
        # Claiming our verification method with the stranger's signature fails as well.
        forged["proof"]["verificationMethod"] = credential_document["proof"]["verificationMethod"]
        body = assert_clear_4xx(post(client, "/credentials/verify",
                                     {"verifiableCredential": forged}), 400)
        assert "signature does not match" in body["detail"]

    @pytest.mark.parametrize("proof_value", ["zzzz", "z0OIl", "not multibase", "", "z" + "1" * 900])
    def test_garbage_proof_values_are_400(self, client, credential_document, proof_value):
        credential_document["proof"]["proofValue"] = proof_value
        body = assert_clear_4xx(post(client, "/credentials/verify",
                                     {"verifiableCredential": credential_document}), 400)
        assert body["verified"] is False

    @pytest.mark.parametrize(("body", "needle"), [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "not JSON"),
        (b"[]", "JSON object"),
        (b'"a string"', "JSON object"),
        (b"{}", "verifiableCredential must be a JSON object"),
        (b'{"verifiableCredential": [1, 2]}', "verifiableCredential must be a JSON object"),
        (b'{"verifiableCredential": {}}', "not a credential"),
        (b'{"verifiableCredential": {"@context": [], "type": ["Thing"], "proof": {}}}',
         "not a credential"),
        (b'{"verifiableCredential": {"@context": [], "type": "VerifiableCredential"}}',
         "no proof"),
    ])
    @pytest.mark.parametrize("prefix", PREFIXES)
    def test_junk_is_a_clear_400(self, client, body, needle, prefix):
        response = post(client, f"{prefix}/verify", body)
        assert needle in assert_clear_4xx(response, 400)["detail"]

    def test_a_10_mb_body_is_413_with_the_limit(self, client):
        huge = b'{"verifiableCredential": {"name": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
        body = assert_clear_4xx(post(client, "/credentials/verify", huge), 413)
        assert str(1024 * 1024) in body["detail"]

    def test_a_credential_with_junk_inside_is_400_not_500(self, client, credential_document):
        junks: list[dict[str, Any]] = [
            {"@context": "https://example.com/unbundled"},
            {"issuer": [1, {}]},
            {"credentialSubject": {"@id": "relative"}},
            {"validFrom": "yesterday"},
            {"credentialStatus": [{"type": "BitstringStatusListEntry",
                                   "statusListCredential": 5}]},
            {"proof": [credential_document["proof"]] * 2},
        ]
        for junk in junks:
            response = post(client, "/credentials/verify",
                            {"verifiableCredential": {**credential_document, **junk}})
            assert_clear_4xx(response, 400)

    def test_wrong_method_is_4xx(self, client):
        assert client.get("/credentials/verify").status_code == 405


# ----------------------------------------------------------------------------- issue


class TestIssue:
    def test_staff_issue_a_credential_that_then_verifies(self, client_for, staff):
        client = client_for(staff)
        response = post(client, "/credentials/issue", {"credential": unsigned_badge()})
        assert response.status_code == 201, response.content
        signed = response.json()["verifiableCredential"]
        assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        assert signed["id"].startswith("urn:uuid:") and "validFrom" in signed
        verified = post(Client(), "/credentials/verify", {"verifiableCredential": signed})
        assert verified.status_code == 200, verified.content

    def test_staff_can_use_a_token_at_the_api_path_too(self, client, staff):
        _token, secret = accounts.create_token(staff, name="vc-api")
        response = post(client, "/api/v1/credentials/issue", {"credential": unsigned_badge()},
                        HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 201, response.content

    def test_learners_get_403_and_strangers_401(self, client, client_for, make_user):
        learner = make_user()
        assert_clear_4xx(post(client_for(learner), "/credentials/issue",
                              {"credential": unsigned_badge()}), 403)
        assert_clear_4xx(post(client, "/credentials/issue",
                              {"credential": unsigned_badge()}), 401)

    def test_an_unsignable_credential_is_400_naming_the_property(self, client_for, staff):
        credential = unsigned_badge()
        credential["credentialSubject"]["favouriteColour"] = "green"
        body = assert_clear_4xx(post(client_for(staff), "/credentials/issue",
                                     {"credential": credential}), 400)
        assert "favouriteColour" in body["detail"]

    def test_another_issuer_is_refused(self, client_for, staff):
        body = assert_clear_4xx(post(client_for(staff), "/credentials/issue",
                                     {"credential": unsigned_badge("did:example:someone")}), 400)
        assert "issuer must be" in body["detail"]

    @pytest.mark.parametrize("junk", [b"{nope", b"[]", b'{"credential": 5}',
                                      b'{"credential": {"@context": 5, "type": []}}'])
    def test_junk_is_400(self, client_for, staff, junk):
        assert_clear_4xx(post(client_for(staff), "/credentials/issue", junk), 400)


# ----------------------------------------------------------------------------- documents


class TestDocuments:
    def test_the_download_is_exactly_the_stored_text_for_anyone(self, client, passed):
        credential = issued(passed())
        response = client.get(f"/credentials/{credential.public_id}.json")
        assert response.status_code == 200
        assert response.content.decode("utf-8") == credential.document
        assert response["Content-Type"].startswith(JSON)
        assert credential.user.email not in response.content.decode()

    def test_an_unknown_credential_is_404(self, client):
        response = client.get("/credentials/2f7c3c4e-8a51-4c1b-9d55-0c6f1b7a0001.json")
        assert_clear_4xx(response, 404)

    def test_status_lists_are_served_signed_and_cacheable(self, client, passed, staff):
        credential = issued(passed())
        url = document_of(credential)["credentialStatus"][0]["statusListCredential"]
        path = url.removeprefix("https://learn.example.test")
        assert path == "/credentials/status/revocation/1"
        response = client.get(path)
        assert response.status_code == 200
        assert "max-age" in response["Cache-Control"]
        served = response.json()
        assert served["id"] == url
        assert served["credentialSubject"]["type"] == "BitstringStatusList"
        services.revoke(staff, credential.public_id, "Misconduct")
        assert client.get(path).json()["proof"] != served["proof"]
        assert_clear_4xx(client.get("/credentials/status/revocation/99"), 404)
        assert_clear_4xx(client.get("/credentials/status/other/1"), 404)

    def test_did_json_only_with_a_domain(self, client, settings):
        assert_clear_4xx(client.get("/.well-known/did.json"), 404)
        settings.CREDENTIALS_DOMAIN = "learn.example.test"
        document = client.get("/.well-known/did.json").json()
        assert document["id"] == "did:web:learn.example.test"
        assert document["assertionMethod"] == ["did:web:learn.example.test#key-1"]
        assert document["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
