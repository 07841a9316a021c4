from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from upskill.accounts import services as accounts
from upskill.accounts.models import User


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The learner's home: where they stand and the one next thing to do."""
    user = request.user
    assert isinstance(user, User)
    profile = accounts.get_profile(user, user)
    return render(
        request,
        "learning/dashboard.html",
        {
            "profile": profile,
            "memberships": accounts.list_organizations(user),
            "roles": accounts.roles_of(user),
        },
    )
