"""Account pages through Django's test client: flows, bad input, CSRF, throttling, privacy."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client

from upskill.accounts import services
from upskill.accounts.models import ApiToken, Profile, User

PASSWORD = "correct-horse-battery-9"


def login_post(client: Client, email: str, password: str):
    return client.post("/account/login/", {"username": email, "password": password})


@pytest.mark.django_db
class TestSignUpAndLogin:
    def test_sign_up_logs_in_and_lands_on_dashboard(self, client):
        response = client.post("/account/signup/", {
            "display_name": "Lin", "email": "lin@example.test", "password": PASSWORD,
        }, follow=True)
        assert response.redirect_chain[-1][0] == "/dashboard/"
        assert "Hello, Lin" in response.content.decode()
        assert User.objects.get(email="lin@example.test").profile.display_name == "Lin"

    def test_sign_up_with_weak_password_explains_and_creates_nothing(self, client):
        response = client.post("/account/signup/", {
            "display_name": "Lin", "email": "lin@example.test", "password": "short",
        })
        assert response.status_code == 400
        assert "too short" in response.content.decode()
        assert not User.objects.filter(email="lin@example.test").exists()

    def test_sign_up_with_taken_email_explains(self, client, learner):
        response = client.post("/account/signup/", {
            "display_name": "Other", "email": "ada@example.test", "password": PASSWORD,
        })
        assert response.status_code == 400
        assert "already exists" in response.content.decode()

    def test_login_logout_login(self, client, learner):
        assert login_post(client, "ada@example.test", PASSWORD).status_code == 302
        assert client.get("/dashboard/").status_code == 200
        assert client.post("/account/logout/").status_code == 302
        assert client.get("/dashboard/").status_code == 302
        assert login_post(client, "ADA@example.test", PASSWORD).status_code == 302

    def test_wrong_password_says_so(self, client, learner):
        response = login_post(client, "ada@example.test", "nope-nope-nope")
        assert response.status_code == 400
        assert "correct email address and password" in response.content.decode()

    def test_sixth_wrong_password_in_a_row_is_throttled(self, client, learner):
        for _attempt in range(5):
            assert login_post(client, "ada@example.test", "wrong-password").status_code == 400
        sixth = login_post(client, "ada@example.test", "wrong-password")
        assert sixth.status_code == 429
        assert "Too many attempts" in sixth.content.decode()
        # Even the right password is refused while locked out.
        assert login_post(client, "ada@example.test", PASSWORD).status_code == 429

    def test_lockout_is_per_account(self, client, learner, other_learner):
        for _attempt in range(6):
            login_post(client, "ada@example.test", "wrong-password")
        assert login_post(client, "grace@example.test", PASSWORD).status_code == 302


@pytest.mark.django_db
class TestPasswords:
    def test_password_change(self, client_for, learner):
        client = client_for(learner)
        response = client.post("/account/password/", {
            "old_password": PASSWORD, "new_password1": "another-long-phrase-7",
            "new_password2": "another-long-phrase-7",
        })
        assert response.status_code == 302
        learner.refresh_from_db()
        assert learner.check_password("another-long-phrase-7")

    def test_password_reset_sends_a_working_link(self, client, learner):
        response = client.post("/account/password/reset/", {"email": "ada@example.test"})
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line)
        path = link.split("testserver", 1)[1]
        form_page = client.get(path, follow=True)
        assert form_page.status_code == 200
        set_url = form_page.redirect_chain[-1][0]
        client.post(set_url, {"new_password1": "brand-new-phrase-42",
                              "new_password2": "brand-new-phrase-42"})
        learner.refresh_from_db()
        assert learner.check_password("brand-new-phrase-42")

    def test_reset_for_unknown_email_reveals_nothing(self, client):
        response = client.post("/account/password/reset/", {"email": "nobody@example.test"})
        assert response.status_code == 302
        assert mail.outbox == []


@pytest.mark.django_db
class TestProfilePage:
    def test_edit_profile(self, client_for, learner):
        client = client_for(learner)
        response = client.post("/account/profile/", {
            "display_name": "Ada L.", "timezone": "Europe/Berlin", "locale": "en",
            "weekly_learning_minutes": 240, "exam_time_multiplier": "1.25",
            "captions": "on", "larger_text": "on",
        })
        assert response.status_code == 302
        profile = Profile.objects.get(user=learner)
        assert (profile.timezone, profile.exam_time_multiplier) == ("Europe/Berlin", "1.25")
        assert profile.captions and profile.larger_text and not profile.reduced_motion
        page = client.get("/dashboard/").content.decode()
        assert 'class="larger-text"' in page

    def test_bad_input_keeps_saved_profile(self, client_for, learner):
        client = client_for(learner)
        response = client.post("/account/profile/", {
            "display_name": "Changed", "timezone": "Nowhere/Land", "locale": "en",
            "weekly_learning_minutes": "lots", "exam_time_multiplier": "1.00",
        })
        assert response.status_code == 400
        body = response.content.decode()
        assert "Select a valid choice" in body and "Enter a whole number" in body
        assert Profile.objects.get(user=learner).display_name == "Ada"

    def test_locale_is_applied(self, client_for, learner):
        services.update_profile(learner, learner, {"locale": "de"})
        response = client_for(learner).get("/dashboard/")
        assert response["Content-Language"] == "de"


@pytest.mark.django_db
class TestPrivacyBetweenLearners:
    def test_other_learners_token_cannot_be_revoked(self, client_for, learner, other_learner):
        token, _secret = services.create_token(learner, name="laptop")
        response = client_for(other_learner).post(f"/account/tokens/{token.pk}/revoke/")
        assert response.status_code == 404
        assert ApiToken.objects.get(pk=token.pk).revoked_at is None

    def test_token_list_shows_only_mine(self, client_for, learner, other_learner):
        services.create_token(learner, name="ada-secret-laptop")
        page = client_for(other_learner).get("/account/tokens/").content.decode()
        assert "ada-secret-laptop" not in page

    def test_export_is_only_mine(self, client_for, learner, other_learner):
        services.save_demographics(learner, learner, gender="woman", age_band="35_44")
        response = client_for(other_learner).get("/account/export/")
        data = json.loads(response.content)
        assert data["account"]["email"] == "grace@example.test"
        assert data["fairness_demographics"] is None

    def test_profile_page_shows_only_mine(self, client_for, learner, other_learner):
        page = client_for(other_learner).get("/account/profile/").content.decode()
        assert "ada@example.test" not in page

    def test_organization_of_others_is_not_found(self, client_for, learner, other_learner):
        org = services.create_organization(learner, name="Private Team", kind="company")
        response = client_for(other_learner).get(f"/account/organizations/{org.slug}/")
        assert response.status_code == 404
        assert "Private Team" not in response.content.decode()

    def test_non_manager_cannot_change_roles(self, client_for, learner, other_learner):
        org = services.create_organization(learner, name="Team", kind="company")
        services.add_member(learner, org, email=other_learner.email, role="member")
        mine = org.memberships.get(user=learner)
        response = client_for(other_learner).post(
            f"/account/organizations/{org.slug}/members/{mine.pk}/", {"action": "member"}
        )
        assert response.status_code == 403
        mine.refresh_from_db()
        assert mine.role == "manager"

    def test_pages_need_login(self, client):
        for path in ["/dashboard/", "/account/profile/", "/account/tokens/",
                     "/account/export/", "/account/delete/", "/account/organizations/"]:
            response = client.get(path)
            assert response.status_code == 302, path
            assert response["Location"].startswith("/account/login/")


@pytest.mark.django_db
class TestCsrf:
    @pytest.mark.parametrize(("path", "data"), [
        ("/account/signup/",
         {"display_name": "X", "email": "x@example.test", "password": PASSWORD}),
        ("/account/login/", {"username": "ada@example.test", "password": PASSWORD}),
        ("/account/profile/", {"display_name": "X"}),
        ("/account/tokens/", {"name": "x"}),
        ("/account/delete/", {"password": PASSWORD}),
    ])
    def test_forms_without_token_are_rejected(self, learner, path, data):
        client = Client(enforce_csrf_checks=True)
        if path not in {"/account/signup/", "/account/login/"}:
            client.force_login(learner, backend="django.contrib.auth.backends.ModelBackend")
        response = client.post(path, data)
        assert response.status_code == 403
        assert User.objects.filter(pk=learner.pk).exists()
        assert not User.objects.filter(email="x@example.test").exists()
        assert not ApiToken.objects.exists()

    def test_form_with_token_is_accepted(self, learner):
        client = Client(enforce_csrf_checks=True)
        client.force_login(learner, backend="django.contrib.auth.backends.ModelBackend")
        page = client.get("/account/tokens/")
        token = page.context["csrf_token"]
        response = client.post("/account/tokens/", {"name": "x", "csrfmiddlewaretoken": str(token)})
        assert response.status_code == 200
        assert ApiToken.objects.filter(user=learner).count() == 1


@pytest.mark.django_db
class TestAccountDeletionPage:
    def test_wrong_password_keeps_account(self, client_for, learner):
        response = client_for(learner).post("/account/delete/", {"password": "nope"})
        assert response.status_code == 400
        assert "not correct" in response.content.decode()
        assert User.objects.filter(pk=learner.pk).exists()

    def test_right_password_deletes_and_logs_out(self, client_for, learner):
        client = client_for(learner)
        response = client.post("/account/delete/", {"password": PASSWORD})
        assert response.status_code == 302
        assert not User.objects.filter(pk=learner.pk).exists()
        assert client.get("/dashboard/").status_code == 302


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "could not find that page" in response.content.decode()


@pytest.mark.django_db
def test_lockout_uses_forwarded_client_address_behind_a_proxy(client, learner, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

    def attempt(forwarded_for: str, password: str = "wrong-password") -> int:
        return client.post("/account/login/", {"username": "ada@example.test",
                                               "password": password},
                           HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    for _attempt in range(6):
        attempt("203.0.113.7, 10.0.0.1")
    assert attempt("203.0.113.7, 10.0.0.1") == 429
    # The same account from another client behind the same balancer is not locked.
    assert attempt("198.51.100.4, 10.0.0.1", PASSWORD) == 302
