"""The human pages of credentials: the public verification page, verifying a pasted or uploaded
credential, "My credentials" with its sharing links, the certificate downloads, the public
portfolio and the staff status page — who may see and do what on each, and that bad input is a
clear 4xx page, never a 500."""

# ruff: noqa: F811 - the fixtures imported from test_services are parameters here by design.
from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
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
from upskill.accounts.models import User
from upskill.credentials import services
from upskill.credentials.models import Credential, Portfolio
from upskill.labs import services as labs

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.test"
HOLDER = "Ada Lovelace"


@pytest.fixture
def ada(make_user: Callable[..., User]) -> User:
    return make_user(EMAIL, display_name=HOLDER)


@pytest.fixture
def credential(passed: Any, ada: User) -> Credential:
    return issued(passed(ada))


def page_of(credential: Credential) -> str:
    return f"/credentials/{credential.public_id}/"


def text_of(response: Any) -> str:
    """The page's visible words, one space between them (tags dropped, entities decoded)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def status_word(response: Any) -> str:
    match = re.search(r'<span class="status-word">([^<]+)</span>', response.content.decode())
    assert match, "no status on the page"
    return match.group(1)


# ----------------------------------------------------------------------------- public page


class TestVerificationPage:
    def test_anyone_sees_a_valid_credential_with_what_it_certifies(self, client, credential):
        response = client.get(page_of(credential))
        assert response.status_code == 200
        markup, words = response.content.decode(), text_of(response)
        document = document_of(credential)
        assert status_word(response) == "Valid"
        assert 'class="status-icon"' in markup  # an icon next to the word, not colour alone
        assert HOLDER in words and "Data analyst certificate" in words
        assert document["issuer"]["id"] in words and "Upskill" in words
        assert document["credentialSubject"]["achievement"]["description"] in words
        for alignment in document["credentialSubject"]["achievement"]["alignment"]:
            assert f'href="{alignment["targetUrl"]}"' in markup
        assert f"Version {credential.release.version}" in words
        for link in (f"/credentials/{credential.public_id}.json",
                     f"/credentials/{credential.public_id}/certificate.pdf",
                     f"/credentials/{credential.public_id}/certificate.png"):
            assert f'href="{link}"' in markup
        assert "Check it yourself" in words and "<details" in markup
        assert "Signature (proof): verified." in words
        assert "Status lists: checked" in words
        assert EMAIL not in markup
        assert "Manage status" not in words
        assert "no-store" in response["Cache-Control"]

    def test_revoked_says_so_with_the_date_but_not_the_staff_reason(self, client, credential,
                                                                   staff):
        services.revoke(staff, credential.public_id, "Impersonation reported by the exam proctor")
        response = client.get(page_of(credential))
        assert status_word(response) == "Revoked"
        assert "Revoked by the issuer on" in text_of(response)
        assert "Impersonation" not in response.content.decode()

    def test_suspended_and_lifted(self, client, credential, staff):
        services.suspend(staff, credential.public_id, "Under review")
        response = client.get(page_of(credential))
        assert status_word(response) == "Suspended"
        assert "Suspended by the issuer on" in text_of(response)
        services.lift_suspension(staff, credential.public_id, "Review done")
        assert status_word(client.get(page_of(credential))) == "Valid"

    def test_expired_after_its_valid_until(self, client, credential):
        Credential.objects.filter(pk=credential.pk).update(
            valid_until=timezone.now() - timedelta(days=1))
        response = client.get(page_of(credential))
        assert status_word(response) == "Expired"
        assert "It expired on" in text_of(response)

    def test_a_superseded_credential_links_to_the_renewed_one(self, client, credential, passed,
                                                              make_user):
        renewed = issued(passed(make_user()))
        Credential.objects.filter(pk=credential.pk).update(superseded_by=renewed)
        response = client.get(page_of(credential))
        assert "superseded by a renewed credential" in text_of(response)
        assert f'href="/credentials/{renewed.public_id}/"' in response.content.decode()

    def test_an_unknown_credential_is_a_404_page(self, client, exam):
        response = client.get("/credentials/00000000-0000-4000-8000-000000000000/")
        assert response.status_code == 404


# ----------------------------------------------------------------------------- verify form


def verify(client: Client, text: str | None = None, upload: bytes | None = None) -> Any:
    data: dict[str, Any] = {"credential": text or ""}
    if upload is not None:
        data["file"] = SimpleUploadedFile("credential.json", upload, "application/json")
    return client.post("/credentials/verify/", data)


class TestVerifyForm:
    def test_the_form_is_public(self, client):
        response = client.get("/credentials/verify/")
        assert response.status_code == 200
        assert 'name="credential"' in response.content.decode()
        assert 'type="file"' in response.content.decode()

    def test_a_pasted_credential_we_issued_is_valid_and_a_changed_one_invalid(self, client,
                                                                             credential):
        document = document_of(credential)
        response = verify(client, json.dumps(document))
        assert response.status_code == 200
        assert status_word(response) == "Valid"
        assert document["credentialSubject"]["id"] in text_of(response)

        tampered = copy.deepcopy(document)
        tampered["credentialSubject"]["achievement"]["name"] = "Chief data scientist"
        response = verify(client, json.dumps(tampered))
        assert response.status_code == 200
        assert status_word(response) == "Invalid"
        assert "Signature (proof): not verified." in text_of(response)

    def test_an_uploaded_revoked_credential_is_revoked(self, client, credential, staff):
        services.revoke(staff, credential.public_id, "Misconduct")
        response = verify(client, upload=credential.document.encode())
        assert response.status_code == 200
        assert status_word(response) == "Revoked"

    @pytest.mark.parametrize(("sent", "says"), [
        ("", "Paste a credential"),
        ("this is not json", "That is not JSON"),
        ("[1, 2, 3]", "a credential is a JSON object"),
        ('{"name": "x"}', "not a verifiable credential: it has no @context"),
        ('{"@context": [], "type": ["VerifiableCredential"]}', "it has no proof"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ], ids=["empty", "not-json", "array", "no-context", "no-proof", "deep"])
    def test_junk_gets_a_clear_400_never_a_500(self, client, sent, says):
        response = verify(client, sent)
        assert response.status_code == 400
        assert says in text_of(response)
        assert 'role="alert"' in response.content.decode()

    def test_a_binary_upload_is_not_json(self, client):
        response = verify(client, upload=b"\xff\xfe\x00junk")
        assert response.status_code == 400
        assert "not even text" in text_of(response)

    def test_a_10_mb_upload_or_paste_is_refused_as_too_big(self, client):
        ten_mb = b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}'
        for response in (verify(client, upload=ten_mb), verify(client, ten_mb.decode())):
            assert response.status_code == 413
            assert "too big to be a credential: the limit is 1024 KB" in text_of(response)

    def test_a_wrong_content_length_is_not_a_500(self, client):
        response = client.post("/credentials/verify/", "credential=x",
                               content_type="application/x-www-form-urlencoded",
                               CONTENT_LENGTH="lots")
        assert response.status_code == 400


# ----------------------------------------------------------------------------- my credentials


class TestMyCredentials:
    def test_login_is_required(self, client):
        response = client.get("/my/credentials/")
        assert response.status_code == 302 and "/account/login/" in response["Location"]

    def test_lists_my_credential_with_every_way_to_share_it(self, client_for, credential, ada):
        response = client_for(ada).get("/my/credentials/")
        assert response.status_code == 200
        markup = response.content.decode()
        assert status_word(response) == "Valid"
        for link in (f"/credentials/{credential.public_id}/",
                     f"/credentials/{credential.public_id}/certificate.pdf",
                     f"/credentials/{credential.public_id}/certificate.png",
                     f"/credentials/{credential.public_id}.json"):
            assert f'href="{link}"' in markup
        assert "Time to renew" not in markup  # valid for a year

    def test_the_linkedin_link_is_filled_in_and_encoded(self, client_for, credential, ada):
        credential.refresh_from_db()
        issued_on = timezone.localdate(credential.issued_at)
        until = timezone.localdate(credential.valid_until)
        expected = (
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME"
            "&name=Data%20analyst%20certificate&organizationName=Upskill"
            f"&issueYear={issued_on.year}&issueMonth={issued_on.month}"
            f"&expirationYear={until.year}&expirationMonth={until.month}"
            "&certUrl=https%3A%2F%2Flearn.example.test%2Fcredentials%2F"
            f"{credential.public_id}%2F&certId={credential.public_id}")
        markup = client_for(ada).get("/my/credentials/").content.decode()
        # In the HTML attribute "&" is written "&amp;".
        assert f'href="{expected.replace("&", "&amp;")}"' in markup

    def test_a_credential_expiring_soon_or_due_for_renewal_says_so(self, client_for,
                                                                   credential, ada):
        Credential.objects.filter(pk=credential.pk).update(
            valid_until=timezone.now() + timedelta(days=30, hours=1))
        words = text_of(client_for(ada).get("/my/credentials/"))
        assert "Time to renew" in words and "It expires in 30 days." in words
        Credential.objects.filter(pk=credential.pk).update(
            renewal_due="Version 2.0 of the program's content was released.")
        words = text_of(client_for(ada).get("/my/credentials/"))
        assert "Version 2.0 of the program's content was released." in words

    def test_the_exam_report_links_to_the_credential(self, client_for, credential, ada):
        response = client_for(ada).get(f"/exams/attempts/{credential.exam_attempt_id}/report/")
        assert response.status_code == 200
        assert f'href="/credentials/{credential.public_id}/"' in response.content.decode()
        assert "Your credential" in text_of(response)

    def test_i_can_hide_and_show_my_credential_and_nobody_else_can(self, client_for,
                                                                    credential, ada,
                                                                    make_user):
        grace = client_for(make_user("grace@example.test", display_name="Grace"))
        toggle = f"/my/credentials/{credential.public_id}/portfolio"
        assert grace.post(toggle, {"show": "0"}).status_code == 403
        credential.refresh_from_db()
        assert credential.show_in_portfolio
        assert str(credential.public_id) not in grace.get("/my/credentials/").content.decode()

        mine = client_for(ada)
        assert mine.post(toggle, {"show": "0"}).status_code == 302
        credential.refresh_from_db()
        assert not credential.show_in_portfolio
        assert "Hidden from your portfolio." in text_of(mine.get("/my/credentials/"))
        mine.post(toggle, {"show": "1"})
        credential.refresh_from_db()
        assert credential.show_in_portfolio


# ----------------------------------------------------------------------------- certificates


class TestCertificates:
    @pytest.mark.parametrize(("suffix", "content_type", "magic"), [
        ("pdf", "application/pdf", b"%PDF-"), ("png", "image/png", b"\x89PNG\r\n\x1a\n")])
    def test_anyone_downloads_the_certificate_as_an_attachment(self, client, credential,
                                                              suffix, content_type, magic):
        response = client.get(f"/credentials/{credential.public_id}/certificate.{suffix}")
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"] == \
            f'attachment; filename="certificate-{credential.public_id}.{suffix}"'
        assert response.content.startswith(magic)
        assert "no-store" in response["Cache-Control"]

    def test_the_certificate_says_who_what_and_where_to_verify(self, credential):
        data = services.certificate_of(credential.public_id)
        assert data.holder_name == HOLDER
        assert data.achievement_name == "Data analyst certificate"
        assert data.verify_url == \
            f"https://learn.example.test/credentials/{credential.public_id}/"
        assert set(data.skills) == {"Data literacy", "Querying data with SQL"}
        assert data.valid_until is not None and data.valid_until > data.issued_on

    def test_an_unknown_credential_has_no_certificate(self, client, exam):
        response = client.get("/credentials/00000000-0000-4000-8000-000000000000/certificate.pdf")
        assert response.status_code == 404


# ----------------------------------------------------------------------------- portfolio


def graded_project(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = type("Lab", (), {"slug": "card-fraud", "title": "Card fraud detection"})
    item = type("Item", (), {"lab": lab, "metric_label": "AUC", "public_score": 0.912345,
                             "passed": True, "skills": ["Modelling"],
                             "graded_at": timezone.now()})
    failed = type("Item", (), {"lab": type("Lab", (), {"slug": "churn", "title": "Churn"}),
                               "metric_label": "AUC", "public_score": 0.4, "passed": False,
                               "skills": [], "graded_at": timezone.now()})
    monkeypatch.setattr(labs, "portfolio_items", lambda user: [item, failed])


class TestPortfolio:
    def test_off_until_switched_on_and_then_public_without_email(self, client, client_for,
                                                                 credential, ada,
                                                                 monkeypatch):
        mine = client_for(ada)
        assert mine.get("/my/portfolio/").status_code == 200
        handle = Portfolio.objects.get(user=ada).handle
        assert re.fullmatch(r"[A-Za-z0-9-]{8,40}", handle)
        off, unknown = client.get(f"/p/{handle}/"), client.get("/p/no-such-handle/")
        assert off.status_code == unknown.status_code == 404
        assert text_of(off) == text_of(unknown)  # nothing tells an off portfolio apart

        graded_project(monkeypatch)
        response = mine.post("/my/portfolio/", {"public": "on", "show_projects": "on",
                                                "headline": "Data analyst, SQL\x07 and Python"})
        assert response.status_code == 302
        public = client.get(f"/p/{handle}/")
        assert public.status_code == 200
        words = text_of(public)
        assert HOLDER in words and "Data analyst, SQL and Python" in words
        assert status_word(public) == "Valid"
        assert f'href="/credentials/{credential.public_id}/"' in public.content.decode()
        assert "Card fraud detection" in words and "AUC: 0.912" in words
        assert "Churn" not in words  # below the pass mark: not shown off
        assert EMAIL not in public.content.decode()

    def test_hidden_credentials_and_projects_stay_off_the_page(self, client, client_for,
                                                               credential, ada, monkeypatch):
        graded_project(monkeypatch)
        mine = client_for(ada)
        mine.post("/my/portfolio/", {"public": "on", "headline": ""})  # projects unticked
        mine.post(f"/my/credentials/{credential.public_id}/portfolio", {"show": "0"})
        handle = Portfolio.objects.get(user=ada).handle
        words = text_of(client.get(f"/p/{handle}/"))
        assert "No credentials shown yet." in words
        assert "Card fraud detection" not in words

    def test_a_too_long_headline_is_refused_with_a_message(self, client_for, ada):
        response = client_for(ada).post("/my/portfolio/", {"public": "on",
                                                           "headline": "x" * 161})
        assert response.status_code == 400
        assert "at most 160 fit" in text_of(response)
        assert not Portfolio.objects.get(user=ada).public

    def test_each_learner_has_their_own_settings(self, client_for, ada, make_user):
        client_for(ada).post("/my/portfolio/", {"public": "on", "headline": "Ada's"})
        grace = make_user("grace@example.test", display_name="Grace")
        response = client_for(grace).get("/my/portfolio/")
        assert "Ada&#x27;s" not in response.content.decode()
        assert Portfolio.objects.get(user=grace).handle != Portfolio.objects.get(user=ada).handle
        assert not Portfolio.objects.get(user=grace).public


# ----------------------------------------------------------------------------- staff


class TestStaffStatusPage:
    def test_learners_get_403_and_change_nothing(self, client_for, credential, ada):
        page = f"/staff/credentials/{credential.public_id}/"
        owner = client_for(ada)
        assert owner.get(page).status_code == 403
        response = owner.post(page, {"action": "revoke", "reason": "I want to"})
        assert response.status_code == 403
        credential.refresh_from_db()
        assert credential.revoked_at is None
        assert "Manage status" not in text_of(owner.get(page_of(credential)))

    def test_anonymous_visitors_are_sent_to_log_in(self, client, credential):
        response = client.post(f"/staff/credentials/{credential.public_id}/",
                               {"action": "revoke", "reason": "x"})
        assert response.status_code == 302
        credential.refresh_from_db()
        assert credential.revoked_at is None

    def test_a_reason_is_required(self, client_for, credential, staff):
        response = client_for(staff).post(f"/staff/credentials/{credential.public_id}/",
                                          {"action": "suspend", "reason": "  "})
        assert response.status_code == 400
        assert "Give a reason" in text_of(response)
        credential.refresh_from_db()
        assert credential.suspended_at is None

    def test_staff_suspend_lift_and_revoke_and_read_the_audit_history(self, client,
                                                                      client_for,
                                                                      credential, staff):
        desk = client_for(staff)
        page = f"/staff/credentials/{credential.public_id}/"
        assert "Manage status (staff)" in text_of(desk.get(page_of(credential)))
        for action, reason in (("suspend", "Plagiarism report"), ("lift", "Report unfounded"),
                               ("revoke", "Exam taken by someone else")):
            response = desk.post(page, {"action": action, "reason": reason})
            assert response.status_code == 302, text_of(response)
        words = text_of(desk.get(page))
        for reason in ("Plagiarism report", "Report unfounded", "Exam taken by someone else"):
            assert reason in words
        assert "staff@example.test" in words
        assert "A revocation is final." in words

        public = client.get(page_of(credential))
        assert status_word(public) == "Revoked"
        assert "Plagiarism" not in public.content.decode()

    def test_a_second_revocation_is_a_conflict_message(self, client_for, credential, staff):
        services.revoke(staff, credential.public_id, "Misconduct")
        response = client_for(staff).post(f"/staff/credentials/{credential.public_id}/",
                                          {"action": "revoke", "reason": "Again"})
        assert response.status_code == 409
        assert "a revocation is final" in text_of(response)
