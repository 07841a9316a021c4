from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from upskill.accounts.models import FairnessDemographics, Organization, Profile


class SignUpForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name"), max_length=80,
        help_text=_("Shown to mentors and study-group members."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password."),
    )


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ProfileForm(forms.ModelForm[Profile]):
    class Meta:
        model = Profile
        fields = [
            "display_name",
            "timezone",
            "locale",
            "weekly_learning_minutes",
            "exam_time_multiplier",
            "captions",
            "reduced_motion",
            "larger_text",
        ]
        help_texts = {
            "weekly_learning_minutes": _("We plan your path to fit this time."),
            "exam_time_multiplier": _(
                "Applied automatically to every timed exam (an accommodation, no questions asked)."
            ),
        }


class DemographicsForm(forms.ModelForm[FairnessDemographics]):
    class Meta:
        model = FairnessDemographics
        fields = ["gender", "age_band"]
        labels = {"gender": _("Gender"), "age_band": _("Age band")}


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Your password, to confirm"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=80,
                           help_text=_("For example: my laptop, a reporting script."))


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Organization name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Organization.Kind.choices)


class AddMemberForm(forms.Form):
    email = forms.EmailField(label=_("Their email address"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[("member", _("Member")), ("manager", _("Manager"))],
    )


