"""Simulation pages: the catalog, a scenario with its controls and results, a run, a comparison.

Thin: each view calls :mod:`upskill.simulations.services` and renders. The parameter form
works without JavaScript (post, then the scenario page shows the new run); with htmx a change
of any control re-runs the scenario and swaps the results region in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.core.errors import DomainError, Invalid, NotFound, Throttled
from upskill.simulations import services
from upskill.simulations.models import Run

MAX_CODE_REQUEST_BYTES = services.MAX_CODE_BYTES * 4 + 16_000


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


@login_required
@require_GET
def scenario_list(request: HttpRequest) -> HttpResponse:
    """Every scenario, grouped by engine, with the learner's best result on each."""
    user = _user(request)
    role = request.GET.get("role") or None
    scenarios = services.list_scenarios(role)
    best = services.best_results(user, [scenario.slug for scenario in scenarios])
    groups: dict[str, list[Any]] = {}
    for scenario in scenarios:
        groups.setdefault(scenario.get_engine_display(), []).append(
            (scenario, best.get(scenario.slug)))
    return render(request, "simulations/list.html", {"groups": groups, "role": role})


def _results_context(user: User, view: services.ScenarioView, run: Run | None) -> dict[str, Any]:
    """The results region: the run against the learner's previous run and the baseline."""
    if run is None or run.status != Run.Status.FINISHED:
        return {"run": run}
    previous = services.previous_finished(user, run)
    columns: list[tuple[str, dict[str, Any], str]] = [(_("Run %d") % run.number,
                                                       services.run_data(run), "current")]
    if previous is not None:
        columns.append((_("Run %d") % previous.number, services.run_data(previous), "previous"))
    columns.append((_("Baseline"), view.baseline, "baseline"))
    return {
        "run": run, "previous": previous, "columns": [label for label, _d, _s in columns],
        "kpi_rows": services.kpi_rows(view.engine, [data["kpis"] for _l, data, _s in columns]),
        "charts": services.chartables(view.engine, columns),
        "settings_shown": services.settings_shown(view, run),
    }


def _scenario_page(request: HttpRequest, slug: str, *, run: Run | None = None,
                   error: str = "", code: str | None = None, code_error: str = "",
                   given: dict[str, str] | None = None, status: int = 200) -> HttpResponse:
    user = _user(request)
    view = services.scenario_view(user, slug)
    if run is None:
        run = next((r for r in view.runs if r.status == Run.Status.FINISHED), None)
    latest_code = next((r.code for r in view.runs if r.mode == Run.Mode.CODE), "")
    return render(request, "simulations/detail.html", {
        "view": view, "scenario": view.scenario, "error": error, "given": given or {},
        "code": code if code is not None else (latest_code or view.starter_code),
        "code_error": code_error, **_results_context(user, view, run),
    }, status=status)


@login_required
@require_GET
def scenario_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The brief, the goal, the controls, the latest run's results and every run."""
    run = None
    if request.GET.get("run", "").isdigit():
        run = services.get_run(_user(request), slug, int(request.GET["run"]))
    return _scenario_page(request, slug, run=run)


@login_required
@require_POST
def run_parameters(request: HttpRequest, slug: str) -> HttpResponse:
    """Play the scenario with the posted control values. htmx gets the results region (and
    the runs table out of band); a plain form post is redirected to the scenario page."""
    user = _user(request)
    given = {key: str(value) for key, value in request.POST.items()
             if key != "csrfmiddlewaretoken"}
    htmx = request.headers.get("HX-Request") == "true"
    try:
        run = services.run_parameters(user, slug, given)
    except (Invalid, Throttled) as refused:
        if htmx:  # only the error line changes; the last results stay on the page
            response = render(request, "simulations/_refused.html", {"error": refused.detail})
            response["HX-Reswap"] = "none"
            return response
        return _scenario_page(request, slug, error=refused.detail, given=given,
                              status=refused.status)
    if not htmx:
        return redirect(f"{reverse('simulations:detail', args=[slug])}?run={run.number}"
                        "#results")
    view = services.scenario_view(user, slug)
    return render(request, "simulations/_results_swap.html", {
        "view": view, "scenario": view.scenario, **_results_context(user, view, run)})


@login_required
@require_POST
def submit_code(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a code-mode run and go to its page; back to the scenario with the reason when
    the code is refused."""
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > MAX_CODE_REQUEST_BYTES:
        return _scenario_page(request, slug, status=413, code="", code_error=_(
            "Your code is larger than %d KB; keep the policy to one file.")
            % (services.MAX_CODE_BYTES // 1000))
    code = request.POST.get("code", "").replace("\r\n", "\n")
    try:
        run = services.submit_code(_user(request), slug, code)
    except DomainError as refused:
        if not isinstance(refused, Invalid | Throttled):
            raise
        return _scenario_page(request, slug, code=code, code_error=refused.detail,
                              status=refused.status)
    return redirect("simulations:run_detail", slug=slug, number=run.number)


def _run_context(request: HttpRequest, slug: str, number: int) -> dict[str, Any]:
    user = _user(request)
    run = services.get_run(user, slug, number)
    view = services.scenario_view(user, slug)
    return {"view": view, "scenario": view.scenario, "status": services.run_status(run),
            **_results_context(user, view, run)}


@login_required
@require_GET
def run_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """One run: its settings (or code), results, charts and debrief; live status while a
    code-mode run is queued or playing."""
    return render(request, "simulations/run.html", _run_context(request, slug, number))


@login_required
@require_GET
def run_status(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The status region alone, for htmx polling; once finished it carries the results."""
    return render(request, "simulations/_run_status.html",
                  {**_run_context(request, slug, number), "oob": True})


@login_required
@require_GET
def compare(request: HttpRequest, slug: str) -> HttpResponse:
    """Two to four of the learner's runs side by side: KPIs, charts, settings and why the
    last differs from the first."""
    user = _user(request)
    try:
        numbers = [int(value) for value in request.GET.getlist("run")]
    except ValueError:
        numbers = []
    view = services.scenario_view(user, slug)
    try:
        runs = services.compare_runs(user, slug, numbers)
    except (Invalid, NotFound) as refused:
        return render(request, "simulations/compare.html", {
            "view": view, "scenario": view.scenario, "error": refused.detail},
            status=refused.status)
    columns = [(_("Run %d") % run.number, services.run_data(run), f"run-{index}")
               for index, run in enumerate(runs)]
    columns.append((_("Baseline"), view.baseline, "baseline"))
    return render(request, "simulations/compare.html", {
        "view": view, "scenario": view.scenario, "runs": runs,
        "columns": [label for label, _d, _s in columns],
        "kpi_rows": services.kpi_rows(view.engine, [data["kpis"] for _l, data, _s in columns]),
        "charts": services.chartables(view.engine, columns),
        "settings": services.settings_table(view, runs),
        "debrief": services.compare_debrief(runs),
    })
