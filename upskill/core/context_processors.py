"""Template context every page needs: the unread notification count for the nav."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from upskill.core import notifications as notification_service


def notifications(request: HttpRequest) -> dict[str, int]:
    user = getattr(request, "user", None)
    if not isinstance(user, AbstractBaseUser) or not user.is_authenticated:
        return {}
    return {"unread_notifications": notification_service.unread_count(user)}
