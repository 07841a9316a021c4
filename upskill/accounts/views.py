"""Account pages: parse the request, call a service, render. No rules live here."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from upskill.accounts import services
from upskill.accounts.forms import (
    AddMemberForm,
    DeleteAccountForm,
    DemographicsForm,
    EmailLoginForm,
    OrganizationForm,
    ProfileForm,
    SignUpForm,
    TokenForm,
)
from upskill.accounts.models import Membership, User
from upskill.core.errors import DomainError


def _user(request: HttpRequest) -> User:
    return services.person(request.user)


def _form_error(form: object, error: DomainError, field: str | None = None) -> None:
    form.add_error(field, ValidationError(error.detail))  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except DomainError as error:
            _form_error(form, error, "password" if error.code == "invalid" else "email")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Upskill! Your account is ready."))
            return redirect("dashboard")
    status = 400 if form.errors else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


class LoginView(auth_views.LoginView):
    form_class = EmailLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        messages.success(self.request, _("Your new password is set. Please log in."))
        return super().form_valid(form)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    current = services.get_profile(user, user)
    form = ProfileForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                user, user, {f: form.cleaned_data[f] for f in ProfileForm.Meta.fields}
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("accounts:profile")
    status = 400 if form.errors else 200
    return render(request, "accounts/profile.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def demographics(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    current = services.get_demographics(user, user)
    form = DemographicsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.save_demographics(
            user, user, gender=form.cleaned_data["gender"], age_band=form.cleaned_data["age_band"]
        )
        messages.success(
            request, _("Thank you. Your answers are saved and used only in aggregate.")
        )
        return redirect("accounts:demographics")
    status = 400 if form.errors else 200
    return render(
        request, "accounts/demographics.html", {"form": form, "answered": current is not None},
        status=status,
    )


@login_required
@require_POST
def demographics_delete(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if services.delete_demographics(user, user):
        messages.success(request, _("Your answers were deleted."))
    return redirect("accounts:demographics")


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = services.create_token(user, name=form.cleaned_data["name"])
        except DomainError as error:
            _form_error(form, error, "name")
        else:
            form = TokenForm()
    status = 400 if form.errors else 200
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": services.list_tokens(user), "new_secret": new_secret},
        status=status,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = services.revoke_token(_user(request), token_id)
    messages.success(request, _("Token “%s” was revoked.") % token.name)
    return redirect("accounts:tokens")


@login_required
def export(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    data = services.export_personal_data(user, user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="upskill-my-data.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_account(user, user, password=form.cleaned_data["password"])
        except DomainError as error:
            _form_error(form, error, "password")
        else:
            logout(request)
            messages.success(request, _("Your account and your data were deleted."))
            return redirect("landing")
    status = 400 if form.errors else 200
    return render(request, "accounts/delete.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def organizations(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.create_organization(
                user, name=form.cleaned_data["name"], kind=form.cleaned_data["kind"]
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            return redirect("accounts:organization", slug=org.slug)
    status = 400 if form.errors else 200
    return render(
        request,
        "accounts/organizations.html",
        {"form": form, "memberships": services.list_organizations(user)},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    org, my_role = services.get_organization(user, slug)
    form = AddMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_member(
                user, org, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except DomainError as error:
            _form_error(form, error, "email")
        else:
            messages.success(request, _("%s was added.") % form.cleaned_data["email"])
            return redirect("accounts:organization", slug=org.slug)
    status = 400 if form.errors else 200
    return render(
        request,
        "accounts/organization.html",
        {
            "org": org,
            "my_role": my_role,
            "is_manager": my_role == Membership.Role.MANAGER,
            "members": services.list_members(user, org),
            "form": form,
        },
        status=status,
    )


@login_required
@require_POST
def membership_update(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    user = _user(request)
    org, _role = services.get_organization(user, slug)
    action = request.POST.get("action", "")
    if action == "remove":
        left = services.remove_member(user, org, membership_id=membership_id)
        messages.success(request, _("You left %s.") % org.name if left else _("Member removed."))
        if left:
            return redirect("accounts:organizations")
    elif action in Membership.Role.values:
        services.change_member_role(user, org, membership_id=membership_id, role=action)
        messages.success(request, _("Role changed."))
    else:
        messages.error(request, _("Unknown action."))
        return redirect("accounts:organization", slug=org.slug)
    return redirect("accounts:organization", slug=org.slug)

