"""Public operations of simulations: browse scenarios, play them, compare runs, learn why.

Every function that acts for a learner takes that learner and touches only their own runs;
another learner's run is ``NotFound`` (its existence is not revealed).

Two ways to play (decision 0007):

- parameter mode (:func:`run_parameters`): the control values become a trusted policy and the
  engine plays the scenario in the request (an episode takes well under a second), so the
  page re-runs as a slider moves;
- code mode (:func:`submit_code`): the learner's ``act(observation)`` runs in the sandbox and
  the durable job :data:`CODE_JOB` plays the engine outside it, one observation in and one
  action back per period; its record step (:func:`record_code_run`) stores the outcome once.

Every run is stored with every control value, the seed and the horizon. A scenario's world and
seed are fixed by its content, so all runs of a scenario face the same demand, users or
transactions and differ only by the learner's decisions; the goal's baseline policy is played
on that same world once and kept with the scenario.

Scoring: the goal names a KPI, a baseline and a margin; a run passes when its KPI beats the
baseline's by the margin in the KPI's better direction. The first passing run of a scenario
is evidence (correct) for each of its skills through ``learning``; failing runs add no evidence,
so exploring never lowers anyone's mastery, and passing again adds nothing.
"""

from __future__ import annotations

import ast
import contextlib
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts.models import User
from upskill.catalog.models import Release, Role, Skill
from upskill.catalog.services import Package, Problem, Tree
from upskill.core import jobs
from upskill.core.errors import Invalid, NotFound, Throttled
from upskill.core.markdown import render_markdown
from upskill.core.models import Job
from upskill.learning import services as learning
from upskill.simulations import charts, engines
from upskill.simulations.engines.base import Control, Engine, Episode, Event, Kpi
from upskill.simulations.models import Run, Scenario

__all__ = [
    "CODE_JOB",
    "MAX_CODE_BYTES",
    "RUNS_PER_MINUTE",
    "Chartable",
    "KpiRow",
    "ScenarioView",
    "baseline_of",
    "best_results",
    "chartables",
    "check_scenarios",
    "compare_debrief",
    "compare_runs",
    "control_values",
    "get_run",
    "get_scenario",
    "goal_text",
    "kpi_rows",
    "list_runs",
    "list_scenarios",
    "play_code_run",
    "previous_finished",
    "record_code_run",
    "run_data",
    "run_parameters",
    "run_status",
    "scenario_view",
    "settings_shown",
    "settings_table",
    "starter_code",
    "submit_code",
    "value_text",
    "write_scenarios",
]

CODE_JOB: Final = "simulations.run_code"
MAX_CODE_BYTES: Final = 100_000
# Parameter runs are cheap but stored: a slider dragged for a minute must not fill the history.
RUNS_PER_MINUTE: Final = 30
CODE_RUNS_PER_HOUR: Final = 30
MAX_COMPARED: Final = 4
_SIGNIFICANT: Final = 7


# --------------------------------------------------------------------------- content


def check_scenarios(tree: Tree) -> list[Problem]:
    """Engine rules for every scenario of ``tree`` (registered as a catalog content check):
    the world parameters are ones its engine accepts, the controls exist, fixed values are
    allowed, the goal names a KPI and a baseline of the engine, and the roles exist."""
    roles = set(Role.objects.values_list("slug", flat=True))
    roles |= {role.slug for package in tree.packages for role in package.roles}
    problems: list[Problem] = []
    for package in tree.packages:
        for slug, doc in package.scenarios.items():
            where_file = f"{package.meta.id}/scenarios/{slug}/scenario.yaml"

            def problem(where: str, reason: str, where_file: str = where_file) -> None:
                problems.append(Problem(where_file, where, reason))

            spec = doc.spec
            for index, role in enumerate(spec.roles):
                if role not in roles:
                    problem(f"roles.{index}", f"unknown role {role!r}")
            engine = engines.get(spec.engine)
            try:
                world = engine.world(spec.world)
            except (ValueError, TypeError) as error:
                problem("world", str(error))
                continue
            controls = {control.name: control for control in engine.controls(world)}
            for index, name in enumerate(spec.controls):
                if name not in controls:
                    problem(f"controls.{index}", f"{spec.engine} has no control {name!r}; "
                                                 f"use one of {', '.join(controls)}")
            for name, value in spec.fixed.items():
                if name not in controls:
                    problem(f"fixed.{name}", f"{spec.engine} has no control {name!r}")
                    continue
                try:
                    controls[name].check(value)
                except ValueError as error:
                    problem(f"fixed.{name}", str(error))
            kpis = {kpi.name for kpi in engine.kpis}
            if spec.goal.kpi not in kpis:
                problem("goal.kpi", f"{spec.engine} has no KPI {spec.goal.kpi!r}; use one of "
                                    f"{', '.join(sorted(kpis))}")
            baselines = engine.baselines(world)
            if spec.goal.baseline not in baselines:
                problem("goal.baseline", f"{spec.engine} has no baseline "
                                         f"{spec.goal.baseline!r}; use one of "
                                         f"{', '.join(sorted(baselines))}")
    return problems


def write_scenarios(release: Release, package: Package) -> None:
    """Import a package's scenarios (registered as a catalog package writer): one
    :class:`Scenario` per ``scenarios/<slug>/`` folder, belonging to ``release``."""
    if not package.scenarios:
        return
    wanted_skills = {s for doc in package.scenarios.values() for s in doc.spec.skills}
    skills = {s.slug: s for s in Skill.objects.filter(slug__in=wanted_skills)}
    wanted_roles = {r for doc in package.scenarios.values() for r in doc.spec.roles}
    roles = {r.slug: r for r in Role.objects.filter(slug__in=wanted_roles)}
    for slug, doc in package.scenarios.items():
        spec = doc.spec
        scenario = Scenario.objects.create(
            release=release, slug=slug, title=spec.title, summary=spec.summary,
            engine=spec.engine, minutes=spec.minutes, brief_html=render_markdown(doc.brief),
            spec=spec.model_dump(mode="json"))
        scenario.skills.set([skills[s] for s in spec.skills])
        scenario.roles.set([roles[r] for r in spec.roles if r in roles])


# --------------------------------------------------------------------------- browsing


def list_scenarios(role_slug: str | None = None) -> list[Scenario]:
    """The scenarios of current releases, optionally only those tied to one role."""
    scenarios = (Scenario.objects.filter(release__is_current=True)
                 .prefetch_related("roles", "skills"))
    if role_slug:
        scenarios = scenarios.filter(roles__slug=role_slug)
    return list(scenarios)


def get_scenario(slug: str) -> Scenario:
    """The current release's scenario ``slug``, or ``NotFound``."""
    scenario = (Scenario.objects.filter(release__is_current=True, slug=slug)
                .prefetch_related("roles", "skills").first())
    if scenario is None:
        raise NotFound(_("There is no simulation %s.") % slug)
    return scenario


def _engine(scenario: Scenario) -> Engine:
    return engines.get(scenario.engine)


def _world(scenario: Scenario) -> dict[str, Any]:
    return _engine(scenario).world(scenario.spec["world"])


@dataclass(frozen=True)
class ScenarioView:
    """What the scenario page shows a learner."""

    scenario: Scenario
    engine: Engine
    controls: list[Control]  # the ones the learner sets, in the scenario's order
    fixed: list[tuple[Control, float | str]]  # set by the scenario, shown for context
    values: dict[str, float | str]  # current value of each control the learner sets
    goal: Kpi
    goal_text: str
    baseline: dict[str, Any]
    runs: list[Run]
    best: Run | None
    code_interface: dict[str, dict[str, str]]
    starter_code: str


def scenario_view(user: User, slug: str) -> ScenarioView:
    """The scenario with the learner's controls preset to their latest run (or the defaults),
    the baseline and the learner's runs, newest first."""
    scenario = get_scenario(slug)
    engine = _engine(scenario)
    world = _world(scenario)
    by_name = {control.name: control for control in engine.controls(world)}
    runs = list_runs(user, slug)
    latest = next((run for run in runs if run.mode == Run.Mode.PARAMETERS), None)
    values = control_values(scenario, latest.settings if latest else {}, strict=False)
    goal = _goal_kpi(engine, scenario)
    finished = [run for run in runs if run.improvement is not None]
    best = max(finished, key=lambda run: run.improvement or -math.inf, default=None)
    return ScenarioView(
        scenario=scenario, engine=engine,
        controls=[by_name[name] for name in scenario.spec["controls"]],
        fixed=[(by_name[name], value) for name, value in _fixed_values(scenario).items()],
        values={name: values[name] for name in scenario.spec["controls"]},
        goal=goal, goal_text=goal_text(scenario), baseline=baseline_of(scenario), runs=runs,
        best=best, code_interface=engine.code_interface(),
        starter_code=starter_code(scenario))


def _goal_kpi(engine: Engine, scenario: Scenario) -> Kpi:
    return next(kpi for kpi in engine.kpis if kpi.name == scenario.spec["goal"]["kpi"])


def goal_text(scenario: Scenario) -> str:
    """The goal in words: "Get a total cost at least 30% lower than the textbook (s, S)
    policy." """
    engine = _engine(scenario)
    goal = scenario.spec["goal"]
    kpi = _goal_kpi(engine, scenario)
    baseline = goal.get("baseline_label") or \
        _("the %s policy's") % goal["baseline"].replace("_", " ")
    margin = float(goal["improve_by"])
    direction = _("lower") if kpi.better == "lower" else _("higher")
    if margin > 0:
        return (_("Get a %(kpi)s at least %(margin)s %(direction)s than %(baseline)s.")
                % {"kpi": kpi.label.lower(), "margin": f"{margin:.0%}", "direction": direction,
                   "baseline": baseline})
    return (_("Get a %(kpi)s %(direction)s than %(baseline)s.")
            % {"kpi": kpi.label.lower(), "direction": direction, "baseline": baseline})


def _fixed_values(scenario: Scenario) -> dict[str, float | str]:
    return dict(scenario.spec.get("fixed") or {})


def control_values(scenario: Scenario, given: Mapping[str, Any], *,
                   strict: bool = True) -> dict[str, float | str]:
    """Every control's value for a run: the engine's defaults overridden by the goal's
    baseline policy (a learner starts from the policy to beat), the scenario's fixed values,
    then ``given`` for the controls the learner sets. With ``strict``, a value that is not
    allowed or a control the learner may not set is ``Invalid`` naming every problem;
    without, such values fall back to the defaults (presetting a form from an old run)."""
    engine = _engine(scenario)
    world = _world(scenario)
    controls = engine.controls(world)
    values: dict[str, float | str] = {control.name: control.default for control in controls}
    values.update(engine.baselines(world)[scenario.spec["goal"]["baseline"]])
    values.update(_fixed_values(scenario))
    allowed = set(scenario.spec["controls"])
    by_name = {control.name: control for control in controls}
    problems: list[str] = []
    for name, raw in given.items():
        if name not in allowed:
            if strict:
                problems.append(_("%s is not something you set in this scenario.") % name
                                if name in by_name else _("There is no setting %s.") % name)
            continue
        try:
            values[name] = by_name[name].check(raw)
        except ValueError as error:
            if strict:
                problems.append(str(error))
    if problems:
        raise Invalid(" ".join(problems))
    return values


# --------------------------------------------------------------------------- baselines


def baseline_of(scenario: Scenario) -> dict[str, Any]:
    """The goal's baseline policy played on the scenario's world and seed: ``{"kpis",
    "series", "events", "settings"}``. Computed once and stored with the scenario (the result
    is deterministic, so two processes filling it in at once store the same thing)."""
    if scenario.baseline is None:
        engine = _engine(scenario)
        world = _world(scenario)
        name = scenario.spec["goal"]["baseline"]
        values = engine.baselines(world)[name]
        episode = engine.simulate(world, engine.parameter_policy(world, values),
                                  horizon=scenario.spec["horizon"], seed=scenario.spec["seed"])
        scenario.baseline = {"name": name, "settings": dict(values), **_episode_json(episode)}
        Scenario.objects.filter(pk=scenario.pk).update(baseline=scenario.baseline)
    return scenario.baseline


def _round(value: float) -> float | None:
    if not math.isfinite(value):
        return None
    return float(f"{value:.{_SIGNIFICANT}g}")


def _episode_json(episode: Episode) -> dict[str, Any]:
    return {
        "kpis": {name: _round(float(value)) for name, value in episode.kpis.items()},
        "series": {name: [_round(float(v)) for v in np.asarray(values, dtype=float)]
                   for name, values in episode.series.items()},
        "events": [{"period": e.period, "kind": e.kind, "message": e.message,
                    "weight": e.weight} for e in episode.events],
    }


def _episode_from(engine_name: str, seed: int, horizon: int, data: Mapping[str, Any]) -> Episode:
    return Episode(
        engine=engine_name, seed=seed, horizon=horizon,
        kpis={name: (math.nan if value is None else float(value))
              for name, value in data["kpis"].items()},
        series={name: np.array([math.nan if v is None else v for v in values], dtype=float)
                for name, values in data["series"].items()},
        events=[Event(e["period"], e["kind"], e["message"], e.get("weight", 0.0))
                for e in data.get("events", [])])


# --------------------------------------------------------------------------- playing


def _throttle(user: User, scenario: Scenario, mode: str, limit: int, window: timedelta) -> None:
    since = timezone.now() - window
    recent = Run.objects.filter(user=user, scenario__slug=scenario.slug, mode=mode,
                                created_at__gte=since).count()
    if recent >= limit:
        minutes = max(1, int(window.total_seconds() // 60))
        raise Throttled(_("You have started %(count)d runs of this simulation in the last "
                          "%(minutes)d minutes. Wait a moment before the next one; your runs "
                          "so far are saved.") % {"count": recent, "minutes": minutes})


def _next_number(user: User, scenario: Scenario) -> int:
    """With the learner's row locked (the caller's transaction), so two runs started at once
    get different numbers."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    last = Run.objects.filter(user=user, scenario__slug=scenario.slug).aggregate(
        last=Max("number"))["last"]
    return int(last or 0) + 1


def run_parameters(user: User, slug: str, given: Mapping[str, Any]) -> Run:
    """Play the scenario with the learner's control values and store the finished run.

    ``Invalid`` (nothing stored) names every value that is not allowed; ``Throttled`` past
    :data:`RUNS_PER_MINUTE`. Records skill evidence on the learner's first passing run."""
    scenario = get_scenario(slug)
    values = control_values(scenario, given)
    engine = _engine(scenario)
    world = _world(scenario)
    _throttle(user, scenario, Run.Mode.PARAMETERS, RUNS_PER_MINUTE, timedelta(minutes=1))
    started = time.perf_counter()
    episode = engine.simulate(world, engine.parameter_policy(world, values),
                              horizon=scenario.spec["horizon"], seed=scenario.spec["seed"])
    runtime = time.perf_counter() - started
    with transaction.atomic():
        run = Run(user=user, scenario=scenario, number=_next_number(user, scenario),
                  mode=Run.Mode.PARAMETERS, settings=values, seed=scenario.spec["seed"],
                  horizon=scenario.spec["horizon"])
        _fill_outcome(run, scenario, episode, runtime)
        run.save()
        _record_evidence(run)
    return run


def _fill_outcome(run: Run, scenario: Scenario, episode: Episode, runtime_s: float) -> None:
    engine = _engine(scenario)
    baseline = baseline_of(scenario)
    base_episode = _episode_from(engine.name, run.seed, run.horizon, baseline)
    run.status = Run.Status.FINISHED
    run.finished_at = timezone.now()
    run.runtime_s = runtime_s
    stored = _episode_json(episode)
    run.kpis, run.series, run.events = stored["kpis"], stored["series"], stored["events"]
    run.debrief = engine.debrief(episode, world=_world(scenario), baseline=base_episode)
    goal = scenario.spec["goal"]
    kpi = _goal_kpi(engine, scenario)
    # Both sides as stored (7 significant digits), so the baseline's own policy scores 0.
    run.goal_value = _round(float(episode.kpis[goal["kpi"]]))
    value = math.nan if run.goal_value is None else run.goal_value
    run.improvement = _improvement(value, float(baseline["kpis"][goal["kpi"]]), kpi.better)
    run.passed = (run.improvement is not None
                  and run.improvement >= float(goal["improve_by"]) - 1e-12)


def _improvement(value: float, baseline: float, better: str) -> float | None:
    """How much better than the baseline, as a fraction of the baseline's size: 0.12 is 12%
    better, -0.05 is 5% worse. None when it cannot be said (a baseline of zero)."""
    if not (math.isfinite(value) and math.isfinite(baseline)) or baseline == 0:
        return None
    gain = (baseline - value) if better == "lower" else (value - baseline)
    return gain / abs(baseline)


def _record_evidence(run: Run) -> None:
    if not run.passed:
        return
    earlier = Run.objects.filter(user=run.user, scenario__slug=run.scenario.slug,
                                 passed=True).exclude(pk=run.pk)
    if earlier.exists():
        return
    for skill in run.scenario.skills.all():
        learning.record_evidence(run.user, skill, True, "simulation")


# --------------------------------------------------------------------------- code mode


def starter_code(scenario: Scenario) -> str:
    """A starting policy for code mode: the engine's interface as comments and an ``act``
    that returns a valid (if naive) action."""
    interface = _engine(scenario).code_interface()
    lines = ['"""Your policy for: ' + scenario.title + '.', "",
             "act(observation) is called once per period with a dict of numbers and numpy",
             "arrays and returns a dict: the action for that period. print() goes to your",
             'output below the results."""', "", "import numpy as np", "", "",
             "def act(observation):", "    # observation holds:"]
    lines += [f"    #   {name}: {meaning}" for name, meaning in
              interface.get("observation", {}).items()]
    lines.append("    # return a dict with:")
    lines += [f"    #   {name}: {meaning}" for name, meaning in interface.get("action", {}).items()]
    example = interface.get("example", {}).get("act")
    if example:
        lines += [f"    {line}" if line else "" for line in example.splitlines()]
    else:
        lines.append("    raise NotImplementedError('decide the action here')")
    return "\n".join(lines) + "\n"


def _code_problem(code: str) -> str | None:
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return _("Your code has a syntax error on line %(line)s: %(msg)s") % {
            "line": error.lineno, "msg": error.msg}
    if not any(isinstance(node, ast.FunctionDef) and node.name == "act" for node in tree.body):
        return _("Your code must define act(observation).")
    return None


def submit_code(user: User, slug: str, code: str) -> Run:
    """Store a code-mode run and queue the job that plays it in the sandbox.

    ``Invalid`` (nothing stored) for empty or oversized code, a syntax error or no ``act``;
    ``Throttled`` past :data:`CODE_RUNS_PER_HOUR`. One job per run (deduplicated)."""
    scenario = get_scenario(slug)
    if not code.strip():
        raise Invalid(_("Write a policy first: your code is empty."))
    if len(code.encode("utf-8")) > MAX_CODE_BYTES:
        raise Invalid(_("Your code is larger than %d KB; keep the policy to one file.")
                      % (MAX_CODE_BYTES // 1000))
    problem = _code_problem(code)
    if problem is not None:
        raise Invalid(problem)
    _throttle(user, scenario, Run.Mode.CODE, CODE_RUNS_PER_HOUR, timedelta(hours=1))
    values = control_values(scenario, {})
    with transaction.atomic():
        run = Run.objects.create(
            user=user, scenario=scenario, number=_next_number(user, scenario),
            mode=Run.Mode.CODE, settings=values, code=code, seed=scenario.spec["seed"],
            horizon=scenario.spec["horizon"])
        run.job = jobs.enqueue(CODE_JOB, {"run_id": run.pk}, dedupe_key=f"{CODE_JOB}:{run.pk}")
        run.save(update_fields=["job"])
    return run


def _scratch_root() -> Path:
    """Learner code of labs and simulations runs in fresh folders under LABS_SCRATCH_DIR (its
    parents must let the sandbox's host user in)."""
    root = Path(settings.LABS_SCRATCH_DIR) / "simulations"
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    return root


def prepare_code_runs() -> None:
    """(A worker, as it starts.) Start the warm sandbox the next code run takes, with the
    settings :func:`play_code_run` uses. Nothing happens where the sandbox is unavailable: the
    runs say why."""
    from upskill import sandbox
    from upskill.labs import services as labs
    from upskill.simulations import codemode

    if sandbox.availability() is not None:
        return
    with contextlib.suppress(sandbox.SandboxUnavailable):
        codemode.prepare_warm_start(_scratch_root(), mode=labs.sandbox_mode())


def play_code_run(run_id: int) -> dict[str, Any]:
    """The job's run step: play the scenario with the run's code in the sandbox. Reads only;
    :func:`record_code_run` stores the outcome. Safe to run more than once."""
    from upskill import sandbox
    from upskill.labs import services as labs
    from upskill.simulations import codemode

    run = Run.objects.select_related("scenario").filter(pk=run_id).first()
    if run is None:  # deleted with its learner's account
        return {"run_id": run_id, "status": "gone"}
    scenario = run.scenario
    engine = _engine(scenario)
    try:
        mode = labs.sandbox_mode()
        outcome = codemode.run_policy_code(
            engine, _world(scenario), run.code, horizon=run.horizon, seed=run.seed,
            scratch_root=_scratch_root(), mode=mode)
    except sandbox.SandboxUnavailable as error:
        return {"run_id": run.pk, "status": Run.Status.ERROR,
                "message": _("Simulations with code are unavailable on this server, so your "
                             "policy was not run: %s") % error}
    output = outcome.output + ("\n[…]" if outcome.output_truncated else "")
    message = outcome.message
    if outcome.traceback:
        message = f"{message}\n\n{outcome.traceback}"
    result: dict[str, Any] = {"run_id": run.pk, "message": message, "output_excerpt": output,
                              "runtime_s": outcome.timings.total_s}
    if outcome.episode is None:
        return {**result, "status": Run.Status.FAILED}
    return {**result, "status": Run.Status.FINISHED, "episode": _episode_json(outcome.episode)}


def record_code_run(job: Job, result: dict[str, Any]) -> None:
    """The job's record step, inside its completion transaction: store the outcome once and,
    on a first pass, the skill evidence."""
    run = (Run.objects.select_for_update(of=("self",)).select_related("scenario", "user")
           .filter(pk=result["run_id"]).first())
    if run is None or run.status != Run.Status.QUEUED:
        return
    run.message = result.get("message", "")
    run.output_excerpt = result.get("output_excerpt", "")
    if result["status"] == Run.Status.FINISHED:
        episode = _episode_from(run.scenario.engine, run.seed, run.horizon, result["episode"])
        _fill_outcome(run, run.scenario, episode, float(result.get("runtime_s") or 0.0))
    else:
        run.status = result["status"]
        run.finished_at = timezone.now()
        run.runtime_s = result.get("runtime_s")
    run.save()
    _record_evidence(run)


# --------------------------------------------------------------------------- reading runs


def list_runs(user: User, slug: str) -> list[Run]:
    """The learner's runs of scenario ``slug`` (every release), newest first."""
    return list(Run.objects.filter(user=user, scenario__slug=slug).select_related("scenario"))


def get_run(user: User, slug: str, number: int) -> Run:
    """The learner's run ``number`` of scenario ``slug``; ``NotFound`` for anyone else's."""
    run = (Run.objects.select_related("scenario", "job")
           .filter(user=user, scenario__slug=slug, number=number).first())
    if run is None:
        raise NotFound(_("You have no run %(number)d of this simulation.") % {"number": number})
    return run


def run_status(run: Run) -> str:
    """``queued``, ``running`` (its job is being played) or the stored final status."""
    if run.status == Run.Status.QUEUED and run.job is not None \
            and run.job.state == Job.State.RUNNING:
        return "running"
    return str(run.status)


def compare_runs(user: User, slug: str, numbers: Iterable[int]) -> list[Run]:
    """Two to :data:`MAX_COMPARED` of the learner's finished runs of one scenario, in the
    order asked; ``Invalid`` otherwise (``NotFound`` for a run that is not theirs)."""
    wanted = list(dict.fromkeys(numbers))
    if not 2 <= len(wanted) <= MAX_COMPARED:
        raise Invalid(_("Choose between 2 and %d runs to compare.") % MAX_COMPARED)
    runs = [get_run(user, slug, number) for number in wanted]
    unfinished = [run.number for run in runs if run.status != Run.Status.FINISHED]
    if unfinished:
        raise Invalid(_("Only finished runs can be compared; run %s has no results.")
                      % ", ".join(map(str, unfinished)))
    return runs


def compare_debrief(runs: list[Run]) -> list[str]:
    """Why the last run's KPIs differ from the first's, in the engine's words."""
    first, last = runs[0], runs[-1]
    engine = _engine(last.scenario)
    return engine.debrief(
        _episode_from(engine.name, last.seed, last.horizon, run_data(last)),
        world=_world(last.scenario),
        baseline=_episode_from(engine.name, first.seed, first.horizon, run_data(first)),
        baseline_name=_("run %d") % first.number)


def run_data(run: Run) -> dict[str, Any]:
    """A run's outcome in the shape of :func:`baseline_of` (for tables and charts)."""
    return {"kpis": run.kpis, "series": run.series, "events": run.events}


def previous_finished(user: User, run: Run) -> Run | None:
    """The learner's finished run of the same scenario just before ``run``."""
    return (Run.objects.filter(user=user, scenario__slug=run.scenario.slug,
                               status=Run.Status.FINISHED, number__lt=run.number)
            .order_by("-number").first())


def best_results(user: User, slugs: Iterable[str]) -> dict[str, Run]:
    """The learner's best finished run of each scenario slug (by improvement on the goal)."""
    best: dict[str, Run] = {}
    for run in (Run.objects.filter(user=user, scenario__slug__in=list(slugs),
                                   improvement__isnull=False)
                .select_related("scenario").order_by("-improvement", "number")):
        best.setdefault(run.scenario.slug, run)
    return best


def value_text(control: Control, value: object) -> str:
    """A control's value for people: a choice's label, a number with its unit."""
    if control.kind == "choice":
        return dict(control.choices).get(str(value), str(value))
    try:
        return f"{float(value):g}{control.unit}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def settings_shown(view: ScenarioView, run: Run) -> list[tuple[str, str]]:
    """(label, value) of each control the learner sets, as the run played it."""
    return [(control.label, value_text(control, run.settings.get(control.name,
                                                                  control.default)))
            for control in view.controls]


def settings_table(view: ScenarioView, runs: list[Run]) -> list[tuple[str, list[str]]]:
    """(label, value in each run) for the controls the learner sets, and how each was
    played (parameters or code)."""
    rows = [(_("Played with"), [str(run.get_mode_display()) for run in runs])]
    for control in view.controls:
        rows.append((control.label, [
            value_text(control, run.settings.get(control.name, control.default))
            if run.mode == Run.Mode.PARAMETERS else "—" for run in runs]))
    return rows


# --------------------------------------------------------------------------- presenting


@dataclass(frozen=True)
class KpiRow:
    kpi: Kpi
    values: list[float | None]  # one per compared run (or [run, baseline])
    best: int | None  # index of the best value


def kpi_rows(engine: Engine, columns: list[Mapping[str, Any]]) -> list[KpiRow]:
    """One row per KPI with each column's value (a run's or the baseline's ``kpis``) and
    which is best in the KPI's direction."""
    rows: list[KpiRow] = []
    for kpi in engine.kpis:
        values = [column.get(kpi.name) for column in columns]
        present = [(i, v) for i, v in enumerate(values) if v is not None]
        best = None
        if len(present) > 1 and len({v for _i, v in present}) > 1:
            pick = min if kpi.better == "lower" else max
            best = pick(present, key=lambda pair: pair[1])[0]
        rows.append(KpiRow(kpi=kpi, values=values, best=best))
    return rows


@dataclass(frozen=True)
class Chartable:
    """A per-period KPI drawn as lines (one per run or baseline) with its table of numbers."""

    kpi: Kpi
    chart: charts.Chart
    labels: list[str]
    rows: list[tuple[str, list[float | None]]]


def chartables(engine: Engine,
               lines: Sequence[tuple[str, Mapping[str, Any], str]]) -> list[Chartable]:
    """For each per-period KPI, a chart and a table of every (label, run-or-baseline data,
    style) that has that series."""
    out: list[Chartable] = []
    for kpi in engine.kpis:
        if not kpi.per_period:
            continue
        drawn = [(label, list(data["series"][kpi.name]), style) for label, data, style in lines
                 if kpi.name in data.get("series", {})]
        if drawn:
            out.append(Chartable(
                kpi=kpi, chart=charts.line_chart(drawn), labels=[d[0] for d in drawn],
                rows=charts.table_rows([d[1] for d in drawn])))
    return out
