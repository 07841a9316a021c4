"""Account services: the rules every page and endpoint relies on."""

from __future__ import annotations

import pytest

from upskill.accounts import services
from upskill.accounts.models import ApiToken, FairnessDemographics, Membership, Profile, User
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied


@pytest.mark.django_db
class TestSignUp:
    def test_creates_user_with_profile_and_lowercased_email(self):
        user = services.sign_up(email="  Ada@Example.TEST ", password="a-long-passphrase-1",
                                display_name=" Ada ")
        assert user.email == "ada@example.test"
        assert user.profile.display_name == "Ada"
        assert user.check_password("a-long-passphrase-1")

    def test_same_email_in_other_case_is_a_conflict(self, learner):
        with pytest.raises(Conflict):
            services.sign_up(email="ADA@example.test", password="a-long-passphrase-1",
                             display_name="Other")

    @pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
    def test_weak_passwords_are_refused(self, password):
        with pytest.raises(Invalid):
            services.sign_up(email="new@example.test", password=password, display_name="New")
        assert not User.objects.filter(email="new@example.test").exists()

    def test_invalid_email_is_refused(self):
        with pytest.raises(Invalid):
            services.sign_up(email="not-an-email", password="a-long-passphrase-1",
                             display_name="X")


def test_production_hasher_is_argon2():
    from upskill import settings as production_settings

    assert production_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.django_db
class TestProfile:
    def test_owner_updates_and_reads(self, learner):
        services.update_profile(learner, learner, {
            "timezone": "Asia/Kolkata", "exam_time_multiplier": "1.50", "captions": True,
        })
        profile = services.get_profile(learner, learner)
        assert profile.timezone == "Asia/Kolkata"
        assert str(profile.exam_time_factor) == "1.50"
        assert profile.captions is True

    def test_another_learner_can_neither_read_nor_change(self, learner, other_learner):
        with pytest.raises(PermissionDenied):
            services.get_profile(other_learner, learner)
        with pytest.raises(PermissionDenied):
            services.update_profile(other_learner, learner, {"display_name": "Hacked"})
        assert Profile.objects.get(user=learner).display_name == "Ada"

    @pytest.mark.parametrize("changes", [
        {"timezone": "Mars/Olympus"},
        {"weekly_learning_minutes": 5},
        {"exam_time_multiplier": "9.00"},
        {"locale": "xx"},
        {"display_name": ""},
        {"is_staff": True},
    ])
    def test_invalid_changes_save_nothing(self, learner, changes):
        before = Profile.objects.get(user=learner)
        with pytest.raises(Invalid):
            services.update_profile(learner, learner, {"display_name": "Changed", **changes})
        after = Profile.objects.get(user=learner)
        assert after.display_name == before.display_name
        assert not User.objects.get(pk=learner.pk).is_staff


@pytest.mark.django_db
class TestDemographics:
    def test_opt_in_then_delete(self, learner):
        assert services.get_demographics(learner, learner) is None
        services.save_demographics(learner, learner, gender="woman", age_band="35_44")
        assert services.get_demographics(learner, learner).gender == "woman"
        assert services.delete_demographics(learner, learner) is True
        assert not FairnessDemographics.objects.filter(user=learner).exists()

    def test_others_cannot_read_or_delete(self, learner, other_learner):
        services.save_demographics(learner, learner, gender="man", age_band="under_25")
        with pytest.raises(PermissionDenied):
            services.get_demographics(other_learner, learner)
        with pytest.raises(PermissionDenied):
            services.delete_demographics(other_learner, learner)
        assert FairnessDemographics.objects.filter(user=learner).exists()

    def test_invalid_answer_is_refused(self, learner):
        with pytest.raises(Invalid):
            services.save_demographics(learner, learner, gender="robot", age_band="35_44")


@pytest.mark.django_db
class TestExportAndDeletion:
    def test_export_holds_own_data_only(self, learner, other_learner):
        services.save_demographics(learner, learner, gender="woman", age_band="25_34")
        services.create_token(learner, name="laptop")
        data = services.export_personal_data(learner, learner)
        assert data["account"]["email"] == "ada@example.test"
        assert data["fairness_demographics"]["age_band"] == "25_34"
        assert [t["name"] for t in data["api_tokens"]] == ["laptop"]
        assert "grace@example.test" not in str(data)
        assert "digest" not in str(data)
        with pytest.raises(PermissionDenied):
            services.export_personal_data(other_learner, learner)

    def test_delete_needs_password_and_removes_everything(self, learner):
        services.create_token(learner, name="laptop")
        services.save_demographics(learner, learner, gender="woman", age_band="25_34")
        with pytest.raises(PermissionDenied):
            services.delete_account(learner, learner, password="wrong")
        assert User.objects.filter(pk=learner.pk).exists()
        services.delete_account(learner, learner, password="correct-horse-battery-9")
        assert not User.objects.filter(pk=learner.pk).exists()
        assert not ApiToken.objects.exists()
        assert not FairnessDemographics.objects.exists()

    def test_cannot_delete_someone_else(self, learner, other_learner):
        with pytest.raises(PermissionDenied):
            services.delete_account(other_learner, learner, password="correct-horse-battery-9")
        assert User.objects.filter(pk=learner.pk).exists()


@pytest.mark.django_db
class TestTokens:
    def test_token_authenticates_until_revoked(self, learner):
        token, secret = services.create_token(learner, name="script")
        assert secret.startswith(services.TOKEN_PREFIX)
        assert token.digest != secret and secret not in token.digest
        assert services.authenticate_token(secret) == learner
        services.revoke_token(learner, token.pk)
        assert services.authenticate_token(secret) is None

    def test_cannot_revoke_someone_elses_token(self, learner, other_learner):
        token, secret = services.create_token(learner, name="script")
        with pytest.raises(NotFound):
            services.revoke_token(other_learner, token.pk)
        assert services.authenticate_token(secret) == learner

    def test_garbage_tokens_authenticate_nobody(self, learner):
        services.create_token(learner, name="script")
        for garbage in ["", "upsk_", "upsk_nope", "Bearer x", "x" * 500]:
            assert services.authenticate_token(garbage) is None

    def test_inactive_user_token_is_refused(self, learner):
        _token, secret = services.create_token(learner, name="script")
        learner.is_active = False
        learner.save()
        assert services.authenticate_token(secret) is None

    def test_blank_name_is_invalid(self, learner):
        with pytest.raises(Invalid):
            services.create_token(learner, name="   ")


@pytest.mark.django_db
class TestRoles:
    def test_everyone_is_a_learner_and_staff_grants_roles(self, learner, other_learner):
        assert services.roles_of(learner) == ["learner"]
        with pytest.raises(PermissionDenied):
            services.grant_role(other_learner, learner, "mentor")
        services.grant_role(None, other_learner, "staff")
        services.grant_role(other_learner, learner, "mentor")
        assert services.has_role(learner, "mentor")
        assert services.roles_of(learner) == ["learner", "mentor"]
        with pytest.raises(Invalid):
            services.grant_role(other_learner, learner, "emperor")


@pytest.mark.django_db
class TestOrganizations:
    def test_creator_manages_and_members_see(self, learner, other_learner, make_user):
        org = services.create_organization(learner, name="Acme Analytics", kind="company")
        assert org.slug == "acme-analytics"
        services.add_member(learner, org, email="GRACE@example.test", role="member")
        members = services.list_members(other_learner, org)
        assert {m.user.email for m in members} == {"ada@example.test", "grace@example.test"}
        outsider = make_user("eve@example.test")
        with pytest.raises(NotFound):
            services.get_organization(outsider, org.slug)
        with pytest.raises(PermissionDenied):
            services.add_member(other_learner, org, email="eve@example.test", role="member")

    def test_last_manager_cannot_leave_or_be_demoted(self, learner):
        org = services.create_organization(learner, name="Solo", kind="training_partner")
        mine = Membership.objects.get(organization=org, user=learner)
        with pytest.raises(Conflict):
            services.remove_member(learner, org, membership_id=mine.pk)
        with pytest.raises(Conflict):
            services.change_member_role(learner, org, membership_id=mine.pk, role="member")

    def test_member_may_leave(self, learner, other_learner):
        org = services.create_organization(learner, name="Acme", kind="company")
        membership = services.add_member(learner, org, email=other_learner.email, role="member")
        assert services.remove_member(other_learner, org, membership_id=membership.pk) is True
        assert services.list_organizations(other_learner) == []

    def test_bad_input(self, learner):
        with pytest.raises(Invalid):
            services.create_organization(learner, name=" ", kind="company")
        with pytest.raises(Invalid):
            services.create_organization(learner, name="X", kind="cult")
        org = services.create_organization(learner, name="X", kind="company")
        with pytest.raises(NotFound):
            services.add_member(learner, org, email="nobody@example.test", role="member")
        with pytest.raises(Invalid):
            services.add_member(learner, org, email=learner.email, role="king")
        with pytest.raises(Conflict):
            services.add_member(learner, org, email=learner.email, role="member")

    def test_slugs_stay_unique(self, learner):
        first = services.create_organization(learner, name="Acme", kind="company")
        second = services.create_organization(learner, name="ACME", kind="company")
        assert first.slug != second.slug
