"""People and organizations.

Demographic answers (``FairnessDemographics``) live in their own table, are
opt-in, are used only in aggregate by fairness audits, are never shown to
anyone but their owner, and are deleted when the owner asks.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TIMEZONE_CHOICES = sorted((name, name.replace("_", " ")) for name in zoneinfo.available_timezones())


def normalize_login_email(email: str) -> str:
    return email.strip().lower()


def login_identifier(request: object, credentials: dict[str, Any] | None) -> str:
    """The account a login attempt is for, as django-axes counts failures:
    ``Ada@X`` and ``ada@x`` are the same account."""
    return normalize_login_email(str((credentials or {}).get("username", "")))


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_login_email(username or ""))

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_login_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in by email address (stored lower-case, unique)."""

    email = models.EmailField(_("email address"), unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


class Profile(models.Model):
    """How a person wants to learn: name, time, language and accessibility needs."""

    class ExamTime(models.TextChoices):
        STANDARD = "1.00", _("Standard time")
        TIME_AND_QUARTER = "1.25", _("25% extra time")
        TIME_AND_HALF = "1.50", _("50% extra time")
        DOUBLE = "2.00", _("Double time")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="profile")
    display_name = models.CharField(_("display name"), max_length=80)
    timezone = models.CharField(_("time zone"), max_length=64, choices=TIMEZONE_CHOICES,
                                default="UTC")
    locale = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                              default="en")
    weekly_learning_minutes = models.PositiveSmallIntegerField(
        _("weekly learning time (minutes)"),
        default=180,
        validators=[MinValueValidator(15), MaxValueValidator(40 * 60)],
    )
    exam_time_multiplier = models.CharField(
        _("extended exam time"), max_length=4, choices=ExamTime.choices,
        default=ExamTime.STANDARD,
    )
    captions = models.BooleanField(_("always show captions"), default=False)
    reduced_motion = models.BooleanField(_("reduce motion"), default=False)
    larger_text = models.BooleanField(_("larger text"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.display_name

    @property
    def exam_time_factor(self) -> Decimal:
        return Decimal(self.exam_time_multiplier)


class FairnessDemographics(models.Model):
    """Opt-in answers used only, in aggregate, to audit exams for bias (DIF)."""

    class Gender(models.TextChoices):
        WOMAN = "woman", _("Woman")
        MAN = "man", _("Man")
        NON_BINARY = "non_binary", _("Non-binary")
        SELF_DESCRIBED = "self_described", _("I describe myself another way")
        NO_ANSWER = "no_answer", _("Prefer not to say")

    class AgeBand(models.TextChoices):
        UNDER_25 = "under_25", _("Under 25")
        FROM_25_TO_34 = "25_34", _("25–34")
        FROM_35_TO_44 = "35_44", _("35–44")
        FROM_45_TO_54 = "45_54", _("45–54")
        FROM_55 = "55_plus", _("55 or older")
        NO_ANSWER = "no_answer", _("Prefer not to say")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="fairness_demographics")
    gender = models.CharField(max_length=20, choices=Gender.choices, default=Gender.NO_ANSWER)
    age_band = models.CharField(max_length=10, choices=AgeBand.choices,
                                default=AgeBand.NO_ANSWER)
    consented_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"fairness answers of user {self.user_id}"


class PlatformRole(models.TextChoices):
    LEARNER = "learner", _("Learner")
    MENTOR = "mentor", _("Mentor")
    AUTHOR = "author", _("Author")
    STAFF = "staff", _("Staff")


class RoleGrant(models.Model):
    """A platform role beyond learner (every person is a learner)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="role_grants")
    role = models.CharField(max_length=10, choices=PlatformRole.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_grant_per_role")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role}"


class Organization(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        TRAINING_PARTNER = "training_partner", _("Training partner")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership",
                                     related_name="organizations")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        MANAGER = "manager", _("Manager")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} ({self.role})"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 digest is stored; the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
