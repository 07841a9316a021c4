"""Public operations on people, profiles, organizations, roles and API tokens.

Callers (pages, API, other apps) use these functions, never the models
directly. Every function that acts for someone takes the acting ``actor`` and
checks permission here, so the page and the API enforce the same rules.
Errors are the domain errors of ``upskill.core.errors``.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from upskill.accounts.models import (
    ApiToken,
    FairnessDemographics,
    Membership,
    Organization,
    PlatformRole,
    Profile,
    RoleGrant,
    User,
    normalize_login_email,
)
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied

__all__ = [
    "TOKEN_PREFIX",
    "add_member",
    "authenticate_token",
    "change_member_role",
    "check_password_for",
    "create_organization",
    "create_token",
    "delete_account",
    "delete_demographics",
    "display_name",
    "export_personal_data",
    "get_demographics",
    "get_organization",
    "get_profile",
    "grant_role",
    "has_role",
    "list_members",
    "list_organizations",
    "list_tokens",
    "person",
    "remove_member",
    "revoke_token",
    "roles_of",
    "save_demographics",
    "sign_up",
    "update_profile",
]

PROFILE_FIELDS = (
    "display_name",
    "timezone",
    "locale",
    "weekly_learning_minutes",
    "exam_time_multiplier",
    "captions",
    "reduced_motion",
    "larger_text",
)
TOKEN_PREFIX = "upsk_"  # noqa: S105 - a public prefix, not a secret


def _messages(error: ValidationError) -> str:
    """One readable sentence from a Django ValidationError, naming the fields."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for field, messages in error.message_dict.items():
        text = " ".join(messages)
        parts.append(text if field == "__all__" else f"{field}: {text}")
    return " ".join(parts)


def person(auth: object) -> User:
    """The signed-in person behind a request (``request.user`` or an API's ``request.auth``)."""
    if not isinstance(auth, User) or not auth.is_active:
        raise PermissionDenied(_("Log in or send a valid API token."))
    return auth


def _require_self(actor: User, user: User) -> None:
    if actor.pk != user.pk:
        raise PermissionDenied(_("You can only see and change your own account."))


# --- people ---------------------------------------------------------------

@transaction.atomic
def sign_up(*, email: str, password: str, display_name: str) -> User:
    """Create a person with a profile. Validates the password; an email in use is a Conflict."""
    email = normalize_login_email(email)
    display_name = display_name.strip()
    if not display_name:
        raise Invalid(_("Please tell us the name to show on your profile."))
    if User.objects.filter(email=email).exists():
        raise Conflict(_("An account with this email address already exists."))
    candidate = User(email=email)
    try:
        User._meta.get_field("email").clean(email, candidate)
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        raise Invalid(_messages(error)) from error
    try:
        user = User.objects.create_user(email=email, password=password)
    except IntegrityError as race:
        raise Conflict(_("An account with this email address already exists.")) from race
    Profile.objects.create(user=user, display_name=display_name[:80])
    return user


def display_name(user: User, *, missing: str) -> str:
    """The name a person chose for their profile, as other people see it; ``missing`` for an
    account without a profile (one made outside sign-up, such as by ``createsuperuser``)."""
    profile = getattr(user, "profile", None)
    return profile.display_name if isinstance(profile, Profile) else missing


def get_profile(actor: User, user: User) -> Profile:
    """The profile of ``user``; only its owner may read it."""
    _require_self(actor, user)
    profile, _created = Profile.objects.get_or_create(
        user=user, defaults={"display_name": user.email.split("@")[0]}
    )
    return profile


@transaction.atomic
def update_profile(actor: User, user: User, changes: dict[str, Any]) -> Profile:
    """Change profile fields. Unknown fields and invalid values raise Invalid and save nothing."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise Invalid(_("Unknown profile fields: %s.") % ", ".join(sorted(unknown)))
    profile = get_profile(actor, user)
    for field, value in changes.items():
        setattr(profile, field, value)
    try:
        profile.full_clean(exclude=["user"])
    except ValidationError as error:
        raise Invalid(_messages(error)) from error
    profile.save()
    return profile


def check_password_for(user: User, password: str) -> None:
    if not user.check_password(password):
        raise PermissionDenied(_("That password is not correct."))


@transaction.atomic
def delete_account(actor: User, user: User, *, password: str) -> None:
    """Delete the account and everything that is only the person's (profile,
    demographics, tokens, memberships). Needs the current password."""
    _require_self(actor, user)
    check_password_for(user, password)
    user.delete()


def get_demographics(actor: User, user: User) -> FairnessDemographics | None:
    _require_self(actor, user)
    return FairnessDemographics.objects.filter(user=user).first()


@transaction.atomic
def save_demographics(
    actor: User, user: User, *, gender: str, age_band: str
) -> FairnessDemographics:
    """Record opt-in answers for fairness audits. Saving is the consent."""
    _require_self(actor, user)
    record = FairnessDemographics.objects.filter(user=user).first() or FairnessDemographics(
        user=user
    )
    record.gender = gender
    record.age_band = age_band
    record.consented_at = timezone.now()
    try:
        record.full_clean(exclude=["user"])
    except ValidationError as error:
        raise Invalid(_messages(error)) from error
    record.save()
    return record


def delete_demographics(actor: User, user: User) -> bool:
    """Forget the answers entirely. True if there was something to delete."""
    _require_self(actor, user)
    deleted, _detail = FairnessDemographics.objects.filter(user=user).delete()
    return deleted > 0


def export_personal_data(actor: User, user: User) -> dict[str, Any]:
    """Everything we hold about the person, as JSON-ready data (owner only)."""
    profile = get_profile(actor, user)
    demographics = get_demographics(actor, user)
    return {
        "format": "upskill.personal-data/1",
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
            "roles": roles_of(user),
        },
        "profile": {field: _jsonable(getattr(profile, field)) for field in PROFILE_FIELDS},
        "fairness_demographics": (
            {
                "gender": demographics.gender,
                "age_band": demographics.age_band,
                "consented_at": demographics.consented_at.isoformat(),
            }
            if demographics
            else None
        ),
        "organizations": [
            {"name": m.organization.name, "kind": m.organization.kind, "role": m.role,
             "joined_at": m.joined_at.isoformat()}
            for m in user.memberships.select_related("organization").order_by("joined_at")
        ],
        "api_tokens": [
            {"name": t.name, "prefix": t.prefix, "created_at": t.created_at.isoformat(),
             "revoked": t.revoked_at is not None}
            for t in user.api_tokens.order_by("created_at")
        ],
    }


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, bool, float)) or value is None else str(value)


# --- platform roles ---------------------------------------------------------

def roles_of(user: User) -> list[str]:
    granted = set(user.role_grants.values_list("role", flat=True))
    if user.is_staff:
        granted.add(PlatformRole.STAFF)
    return [PlatformRole.LEARNER.value, *sorted(r for r in granted if r != PlatformRole.LEARNER)]


def has_role(user: User, role: str) -> bool:
    if role == PlatformRole.LEARNER:
        return user.is_active
    if role == PlatformRole.STAFF and user.is_staff:
        return True
    return RoleGrant.objects.filter(user=user, role=role).exists()


def grant_role(actor: User | None, user: User, role: str) -> None:
    """Give ``user`` a platform role. Only staff may grant (``actor=None`` is the system)."""
    if actor is not None and not has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can grant platform roles."))
    if role not in PlatformRole.values or role == PlatformRole.LEARNER:
        raise Invalid(_("Unknown role %s.") % role)
    RoleGrant.objects.get_or_create(user=user, role=role)
    if role == PlatformRole.STAFF and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


# --- organizations ---------------------------------------------------------

def _membership(org: Organization, user: User) -> Membership | None:
    return Membership.objects.filter(organization=org, user=user).first()


def _require_manager(actor: User, org: Organization) -> None:
    membership = _membership(org, actor)
    if has_role(actor, PlatformRole.STAFF):
        return
    if membership is None or membership.role != Membership.Role.MANAGER:
        raise PermissionDenied(_("Only a manager of %s can do that.") % org.name)


@transaction.atomic
def create_organization(actor: User, *, name: str, kind: str) -> Organization:
    """Create a company or training partner; the creator becomes its first manager."""
    name = name.strip()
    if not name:
        raise Invalid(_("An organization needs a name."))
    if kind not in Organization.Kind.values:
        raise Invalid(_("Kind must be one of: %s.") % ", ".join(Organization.Kind.values))
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    org = Organization.objects.create(name=name[:120], slug=slug, kind=kind)
    Membership.objects.create(organization=org, user=actor, role=Membership.Role.MANAGER)
    return org


def list_organizations(actor: User) -> list[tuple[Organization, str]]:
    """The organizations ``actor`` belongs to, with their role in each."""
    return [
        (m.organization, m.role)
        for m in actor.memberships.select_related("organization").order_by("organization__name")
    ]


def get_organization(actor: User, slug: str) -> tuple[Organization, str | None]:
    """An organization its members (and staff) may see; others get NotFound."""
    org = Organization.objects.filter(slug=slug).first()
    membership = _membership(org, actor) if org else None
    if org is None or (membership is None and not has_role(actor, PlatformRole.STAFF)):
        raise NotFound(_("No such organization."))
    return org, membership.role if membership else None


def list_members(actor: User, org: Organization) -> list[Membership]:
    get_organization(actor, org.slug)
    return list(org.memberships.select_related("user__profile").order_by("user__email"))


@transaction.atomic
def add_member(actor: User, org: Organization, *, email: str, role: str) -> Membership:
    """Add an existing person by email (managers only)."""
    _require_manager(actor, org)
    if role not in Membership.Role.values:
        raise Invalid(_("Role must be member or manager."))
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        raise NotFound(_("Nobody has an account with that email address yet."))
    if _membership(org, user):
        raise Conflict(_("%s is already a member.") % user.email)
    return Membership.objects.create(organization=org, user=user, role=role)


def _managers_left_after(org: Organization, membership: Membership) -> int:
    return org.memberships.filter(role=Membership.Role.MANAGER).exclude(pk=membership.pk).count()


@transaction.atomic
def change_member_role(actor: User, org: Organization, *, membership_id: int, role: str) -> None:
    _require_manager(actor, org)
    if role not in Membership.Role.values:
        raise Invalid(_("Role must be member or manager."))
    membership = org.memberships.select_for_update().filter(pk=membership_id).first()
    if membership is None:
        raise NotFound(_("No such member."))
    if role == Membership.Role.MEMBER and _managers_left_after(org, membership) == 0:
        raise Conflict(_("An organization needs at least one manager."))
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def remove_member(actor: User, org: Organization, *, membership_id: int) -> bool:
    """Managers remove anyone; a member may remove themself (leave).
    Returns True when the actor removed themself."""
    membership = org.memberships.select_for_update().filter(pk=membership_id).first()
    if membership is None:
        raise NotFound(_("No such member."))
    if membership.user_id != actor.pk:
        _require_manager(actor, org)
    if membership.role == Membership.Role.MANAGER and _managers_left_after(org, membership) == 0:
        raise Conflict(_("An organization needs at least one manager."))
    membership.delete()
    return membership.user_id == actor.pk


# --- API tokens -----------------------------------------------------------

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_ACTIVE_TOKENS = 20


@transaction.atomic
def create_token(actor: User, *, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token. The secret is returned once and never stored."""
    name = name.strip()
    if not name:
        raise Invalid(_("Give the token a name so you can recognise it later."))
    if len(name) > 80:
        raise Invalid(_("A token name has at most 80 characters."))
    if actor.api_tokens.filter(revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise Conflict(_("You have %d active tokens; revoke one first.") % MAX_ACTIVE_TOKENS)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=secret[: len(TOKEN_PREFIX) + 6], digest=_digest(secret)
    )
    return token, secret


def list_tokens(actor: User) -> list[ApiToken]:
    return list(actor.api_tokens.order_by("-created_at"))


def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens. Someone else's token is NotFound (no leak)."""
    token = ApiToken.objects.filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_token(secret: str) -> User | None:
    """The active user a token belongs to, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
