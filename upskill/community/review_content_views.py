"""The staff page that opens a peer-review round from an imported assignment template.

Thin: parse the form, call :mod:`upskill.community.review_content`, render. The deadline is
read in the staff member's own time zone (the profile middleware activates it), as
``mentoring.views.live_new`` reads a session's start, so what they type is what they mean. A
refused form shows the page again with the reason next to that template's form: 400 for a bad
value, 409 for an address already taken.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import review_content as services
from upskill.core.errors import Conflict, Invalid


class OpenRoundForm(forms.Form):
    deadline = forms.DateTimeField(
        label=gettext_lazy("Deadline for write-ups (your time zone)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text=gettext_lazy("Reviews owed are due then too; unfinished reviews run on for one "
                               "lease."))
    slug = forms.SlugField(
        label=gettext_lazy("Address of the round (optional)"), max_length=80, required=False,
        help_text=gettext_lazy("Lower-case letters, digits and hyphens; empty: the assignment's "
                               "name and the deadline's date."))


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


def _page(request: HttpRequest, user: User, failed: tuple[str, OpenRoundForm] | None = None,
          status: int = 200) -> HttpResponse:
    cards = services.list_templates(user)
    rows = [(card, failed[1] if failed and failed[0] == card.template.slug
             else OpenRoundForm(prefix=card.template.slug)) for card in cards]
    return render(request, "community/review_open.html", {"rows": rows}, status=status)


@login_required
@require_GET
def open_rounds(request: HttpRequest) -> HttpResponse:
    """The assignments imported from content, each with a form to open a round."""
    return _page(request, _user(request))


@login_required
@require_POST
def open_template(request: HttpRequest, template_slug: str) -> HttpResponse:
    user = _user(request)
    template = services.get_template(template_slug)
    form = OpenRoundForm(request.POST, prefix=template.slug)
    status = 400
    if form.is_valid():
        try:
            activity = services.open_round(user, template.slug,
                                           deadline=form.cleaned_data["deadline"],
                                           slug=form.cleaned_data["slug"] or None)
        except (Invalid, Conflict) as refused:
            form.add_error(None, refused.detail)
            status = refused.status
        else:
            messages.success(request, _("The round is open."))
            return redirect("peer_review:activity", slug=activity.slug)
    return _page(request, user, (template.slug, form), status=status)
