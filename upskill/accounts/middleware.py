from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from upskill.accounts.models import Profile


class ProfilePreferencesMiddleware:
    """Serve a signed-in person in their language and time zone, and expose their
    display preferences (larger text, reduced motion, captions) to templates."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        profile = None
        if request.user.is_authenticated:
            profile = Profile.objects.filter(user_id=request.user.pk).first()
        request.profile = profile  # type: ignore[attr-defined]
        if profile is None:
            return self.get_response(request)
        translation.activate(profile.locale)
        request.LANGUAGE_CODE = profile.locale
        try:
            timezone.activate(zoneinfo.ZoneInfo(profile.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
