"""Pages for authors and staff: item analysis (statistics, flags, recalibration) and the
fairness audit of exam items (DIF findings, pulling a flagged item)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from upskill.accounts import services as accounts
from upskill.assessment import calibration
from upskill.assessment import fairness as fairness_audit


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


# ----------------------------------------------------------------------------- fairness


@login_required
def fairness(request: HttpRequest) -> HttpResponse:
    report = fairness_audit.fairness_report(accounts.person(request.user))
    return render(request, "assessment/fairness.html", {"report": report})


@login_required
@require_POST
def run_fairness_audit(request: HttpRequest) -> HttpResponse:
    job = fairness_audit.request_audit(accounts.person(request.user))
    messages.success(request, _("The fairness audit is queued (job %(id)d); this page shows its "
                                "results once the worker has run it.") % {"id": job.pk})
    return redirect("assessment:fairness")


@login_required
@require_POST
def pull_item(request: HttpRequest) -> HttpResponse:
    item = fairness_audit.pull_item(accounts.person(request.user),
                                    request.POST.get("item", ""), request.POST.get("reason", ""))
    messages.success(request, _("%(key)s is pulled: new exam forms are being assembled without "
                                "it.") % {"key": item.key})
    return redirect("assessment:fairness")


@login_required
@require_POST
def restore_item(request: HttpRequest) -> HttpResponse:
    item = fairness_audit.restore_item(accounts.person(request.user),
                                       request.POST.get("item", ""))
    messages.success(request, _("%(key)s is back in the exam forms.") % {"key": item.key})
    return redirect("assessment:fairness")
