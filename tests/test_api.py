"""The JSON API: authentication, privacy between learners, one error shape, no 500s on junk."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upskill.accounts import services
from upskill.accounts.models import ApiToken, Profile

JSON = "application/json"


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_error_shape(response, status: int | None = None) -> dict:
    assert response.status_code < 500, response.content
    assert response.status_code >= 400
    if status is not None:
        assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(JSON)
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def token(learner) -> str:
    _token, secret = services.create_token(learner, name="tests")
    return secret


@pytest.mark.django_db
class TestAuthentication:
    def test_anonymous_gets_401_in_error_shape(self, client):
        body = assert_error_shape(client.get("/api/v1/me"), 401)
        assert body["error"] == "unauthenticated"

    def test_token_auth(self, client, token):
        response = client.get("/api/v1/me", **bearer(token))
        assert response.status_code == 200
        assert response.json()["email"] == "ada@example.test"

    def test_revoked_or_bogus_token_is_401(self, client, learner, token):
        services.revoke_token(learner, ApiToken.objects.get(user=learner).pk)
        assert_error_shape(client.get("/api/v1/me", **bearer(token)), 401)
        assert_error_shape(client.get("/api/v1/me", **bearer("upsk_bogus")), 401)

    def test_session_auth_reads(self, client_for, learner):
        assert client_for(learner).get("/api/v1/me").json()["display_name"] == "Ada"

    def test_session_writes_need_csrf(self, learner):
        client = Client(enforce_csrf_checks=True)
        client.force_login(learner, backend="django.contrib.auth.backends.ModelBackend")
        response = client.patch("/api/v1/me", json.dumps({"display_name": "X"}),
                                content_type=JSON)
        assert_error_shape(response, 403)
        assert Profile.objects.get(user=learner).display_name == "Ada"


@pytest.mark.django_db
class TestMe:
    def test_patch_profile(self, client, learner, token):
        response = client.patch("/api/v1/me", json.dumps({
            "timezone": "America/Sao_Paulo", "larger_text": True, "exam_time_multiplier": "2.00",
        }), content_type=JSON, **bearer(token))
        assert response.status_code == 200, response.content
        profile = Profile.objects.get(user=learner)
        assert (profile.timezone, profile.larger_text, profile.exam_time_multiplier) == (
            "America/Sao_Paulo", True, "2.00")

    @pytest.mark.parametrize(("body", "needle"), [
        ({"is_staff": True}, "is_staff"),
        ({"display_name": 12}, "display_name"),
        ({"weekly_learning_minutes": "many"}, "weekly_learning_minutes"),
        ({"weekly_learning_minutes": 10**12}, "weekly_learning_minutes"),
        ({"exam_time_multiplier": "3.00"}, "exam_time_multiplier"),
    ])
    def test_unknown_fields_and_wrong_types_are_422(self, client, learner, token, body, needle):
        response = client.patch("/api/v1/me", json.dumps(body), content_type=JSON,
                                **bearer(token))
        error = assert_error_shape(response, 422)
        assert needle in error["detail"]
        assert not learner.__class__.objects.get(pk=learner.pk).is_staff

    def test_invalid_timezone_is_400_and_saves_nothing(self, client, learner, token):
        response = client.patch("/api/v1/me", json.dumps(
            {"display_name": "New", "timezone": "Atlantis/Capital"}), content_type=JSON,
            **bearer(token))
        assert assert_error_shape(response, 400)["error"] == "invalid"
        assert Profile.objects.get(user=learner).display_name == "Ada"

    def test_malformed_json_is_4xx(self, client, token):
        response = client.patch("/api/v1/me", "{not json", content_type=JSON, **bearer(token))
        assert_error_shape(response)

    def test_export(self, client, token):
        data = client.get("/api/v1/me/export", **bearer(token)).json()
        assert data["account"]["email"] == "ada@example.test"


@pytest.mark.django_db
class TestTokensApi:
    def test_create_list_revoke(self, client, token):
        created = client.post("/api/v1/me/tokens", json.dumps({"name": "ci"}), content_type=JSON,
                              **bearer(token))
        assert created.status_code == 201
        new = created.json()
        assert new["secret"].startswith("upsk_")
        listed = client.get("/api/v1/me/tokens", **bearer(token)).json()
        assert {t["name"] for t in listed} == {"tests", "ci"}
        assert all("secret" not in t and "digest" not in t for t in listed)
        revoked = client.delete(f"/api/v1/me/tokens/{new['id']}", **bearer(token))
        assert revoked.json()["revoked_at"] is not None
        assert_error_shape(client.get("/api/v1/me", **bearer(new["secret"])), 401)

    def test_cannot_see_or_revoke_another_learners_tokens(self, client, learner, other_learner,
                                                          token):
        theirs, their_secret = services.create_token(other_learner, name="grace-private")
        mine = client.get("/api/v1/me/tokens", **bearer(token)).json()
        assert "grace-private" not in json.dumps(mine)
        assert_error_shape(client.delete(f"/api/v1/me/tokens/{theirs.pk}", **bearer(token)), 404)
        assert services.authenticate_token(their_secret) == other_learner

    def test_other_learners_data_never_leaks(self, client, learner, other_learner, token):
        services.save_demographics(other_learner, other_learner, gender="woman",
                                   age_band="45_54")
        for path in ["/api/v1/me", "/api/v1/me/export", "/api/v1/me/tokens",
                     "/api/v1/me/organizations"]:
            body = client.get(path, **bearer(token)).content.decode()
            assert "grace@example.test" not in body and "45_54" not in body, path


@pytest.mark.django_db
def test_unknown_api_path_and_method_use_error_shape(client, token):
    assert_error_shape(client.get("/api/v1/nothing-here", **bearer(token)), 404)
    assert_error_shape(client.put("/api/v1/me/export", "{}", content_type=JSON,
                                  **bearer(token)), 405)


@pytest.mark.django_db
def test_openapi_docs_are_served_locally(client):
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.content.decode().lower()
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in spec["paths"]


# --- junk against every endpoint ---------------------------------------------

def all_operations() -> list[tuple[str, str]]:
    from upskill.api import api

    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "999999", path)
        operations += [(method.upper(), concrete) for method in methods]
    return operations


JUNK_BODIES = [
    b"{not json",
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b"12345678901234567890123456789",
    b'{"name": {"nested": [1, 2, {"deep": null}]}}',
    b'{"display_name": null, "timezone": 5, "captions": "yes", "unknown": 1}',
    b"\xff\xfe\x00garbage",
    b'{"name": "' + b"x" * 5000 + b'"}',
]


@pytest.mark.django_db
@pytest.mark.parametrize("junk", JUNK_BODIES)
def test_junk_to_every_endpoint_is_a_clean_4xx(client, learner, token, junk):
    operations = all_operations()
    assert len(operations) >= 6
    for method, path in operations:
        for content_type in [JSON, "text/plain", "application/x-www-form-urlencoded"]:
            response = client.generic(method, path, junk, content_type=content_type,
                                      **bearer(token))
            assert response.status_code < 500, (method, path, junk, response.content)
            if response.status_code >= 400:
                assert_error_shape(response)
    assert Profile.objects.get(user=learner).display_name == "Ada"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=15), children, max_size=4),
    max_leaves=12,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values)
def test_arbitrary_json_never_causes_a_500(client, token, body):
    for method, path in all_operations():
        if method in {"GET", "DELETE"}:
            continue
        response = client.generic(method, path, json.dumps(body), content_type=JSON,
                                  **bearer(token))
        assert response.status_code < 500, (method, path, body, response.content)
        if response.status_code >= 400:
            assert_error_shape(response)
