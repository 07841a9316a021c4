"""``/api/v1/me``: the caller's own profile, data export, tokens and organizations.

There is deliberately no endpoint that takes another person's id: every
route acts on the authenticated caller, and services check it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import ConfigDict

from upskill.accounts import services
from upskill.accounts.models import User

router = Router(tags=["me"])


class TokenAuth(HttpBearer):
    """``Authorization: Bearer upsk_…`` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = services.authenticate_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser session, with Django's CSRF check for unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        return user if isinstance(user, User) and user.is_active else None


api_auth = [TokenAuth(), SessionAuth(csrf=True)]


class StrictSchema(Schema):
    model_config = ConfigDict(extra="forbid")


def caller(request: HttpRequest) -> User:
    return services.person(getattr(request, "auth", None))


class ProfileOut(Schema):
    email: str
    display_name: str
    timezone: str
    locale: str
    weekly_learning_minutes: int
    exam_time_multiplier: str
    captions: bool
    reduced_motion: bool
    larger_text: bool
    roles: list[str]


class ProfilePatch(StrictSchema):
    display_name: str | None = Field(None, min_length=1, max_length=80)
    timezone: str | None = None
    locale: str | None = None
    weekly_learning_minutes: int | None = Field(None, ge=15, le=2400)
    exam_time_multiplier: Literal["1.00", "1.25", "1.50", "2.00"] | None = None
    captions: bool | None = None
    reduced_motion: bool | None = None
    larger_text: bool | None = None


def _profile_out(user: User) -> dict[str, Any]:
    profile = services.get_profile(user, user)
    data = {field: getattr(profile, field) for field in services.PROFILE_FIELDS}
    return {**data, "email": user.email, "roles": services.roles_of(user)}


@router.get("", response=ProfileOut, summary="My profile")
def get_me(request: HttpRequest) -> dict[str, Any]:
    return _profile_out(caller(request))


@router.patch("", response=ProfileOut, summary="Change my profile")
def patch_me(request: HttpRequest, changes: ProfilePatch) -> dict[str, Any]:
    user = caller(request)
    services.update_profile(user, user, changes.model_dump(exclude_unset=True, exclude_none=True))
    return _profile_out(user)


@router.get("/export", summary="Everything Upskill holds about me")
def export_me(request: HttpRequest) -> dict[str, Any]:
    user = caller(request)
    return services.export_personal_data(user, user)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    secret: str = Field(description="Shown once; store it now.")


class TokenIn(StrictSchema):
    name: str = Field(min_length=1, max_length=80)


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request: HttpRequest) -> list[Any]:
    return services.list_tokens(caller(request))


@router.post("/tokens", response={201: TokenCreated}, summary="Create an API token")
def create_token(request: HttpRequest, body: TokenIn) -> Status[dict[str, Any]]:
    token, secret = services.create_token(caller(request), name=body.name)
    return Status(201, {**TokenOut.from_orm(token).model_dump(), "secret": secret})


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke an API token")
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    return services.revoke_token(caller(request), token_id)


class OrganizationOut(Schema):
    slug: str
    name: str
    kind: str
    my_role: str


@router.get("/organizations", response=list[OrganizationOut], summary="My organizations")
def my_organizations(request: HttpRequest) -> list[dict[str, str]]:
    return [
        {"slug": org.slug, "name": org.name, "kind": org.kind, "my_role": role}
        for org, role in services.list_organizations(caller(request))
    ]
