"""The item-analysis page for authors and staff: item statistics, flags and recalibration."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from upskill.accounts import services as accounts
from upskill.assessment import calibration


@login_required
def item_analysis(request: HttpRequest) -> HttpResponse:
    analysis = calibration.item_analysis(accounts.person(request.user))
    return render(request, "assessment/item_analysis.html", {"analysis": analysis})


@login_required
@require_POST
def schedule_calibration(request: HttpRequest) -> HttpResponse:
    job = calibration.request_calibration(accounts.person(request.user))
    messages.success(request, _("Recalibration is queued (job %(id)d); this page shows its "
                                "results once the worker has run it.") % {"id": job.pk})
    return redirect("assessment:item_analysis")
