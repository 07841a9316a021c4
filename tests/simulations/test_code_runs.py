"""Code-mode runs end to end: submitted through the service, played by the durable job in the
real sandbox (run here as a worker would), recorded once, shown on the run page."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from tests.conftest import require
from tests.labs.conftest import sandbox_problem
from tests.simulations.test_services import FRAUD, values_for
from upskill.accounts.models import User
from upskill.core import jobs
from upskill.core.errors import Throttled
from upskill.core.models import Job
from upskill.simulations import engines, services
from upskill.simulations.models import Run

pytestmark = pytest.mark.django_db

INVENTORY = "inventory-supplier-disruption"

# The textbook (s, S) rule, written by a learner: order up to S when stock on hand and on
# order falls to s, with s and S in weeks of average demand (the baseline's settings).
S_S_POLICY = """
import numpy as np

REORDER, ORDER = {reorder}, {order}

def act(observation):
    position = observation["on_hand"] + observation["on_order"]
    demand = observation["mean_demand"]
    low = position <= REORDER * demand
    order = np.where(low, (REORDER + ORDER) * demand - position, 0.0)
    return {{"order": np.maximum(np.round(order), 0)}}
"""


@pytest.fixture
def code_ready(imported_sims: Path, settings: Settings) -> Iterator[None]:
    problem = sandbox_problem()
    require(problem is None, problem or "")
    scratch = Path(tempfile.mkdtemp(prefix="upskill-sim-code-"))
    scratch.chmod(0o755)  # the sandbox's host user must be able to enter it
    settings.LABS_SCRATCH_DIR = scratch
    yield
    shutil.rmtree(scratch, ignore_errors=True)


def play(run: Run) -> Run:
    """Run the run's job in this process, as a worker would, and reload it."""
    assert run.job_id is not None
    outcome = jobs.run_job(run.job_id)
    assert outcome == "done", Job.objects.get(pk=run.job_id).last_error
    run.refresh_from_db()
    return run


def test_a_policy_in_code_scores_exactly_like_the_same_rule_in_parameters(
        code_ready: None, learner: User) -> None:
    scenario = services.get_scenario(INVENTORY)
    engine = engines.get("inventory")
    baseline = engine.baselines(engine.world(scenario.spec["world"]))["textbook_s_S"]
    by_parameters = services.run_parameters(learner, INVENTORY, {
        name: value for name, value in baseline.items() if name in scenario.spec["controls"]})
    code = S_S_POLICY.format(reorder=baseline["reorder_point"], order=baseline["order_quantity"])
    submitted = services.submit_code(learner, INVENTORY, code)
    assert submitted.status == Run.Status.QUEUED and submitted.mode == Run.Mode.CODE
    by_code = play(submitted)
    assert by_code.status == Run.Status.FINISHED, by_code.message
    assert by_code.kpis == by_parameters.kpis
    assert by_code.improvement == pytest.approx(0.0, abs=1e-9)
    assert by_code.debrief


def test_the_starter_code_of_every_engine_runs(code_ready: None, learner: User) -> None:
    for scenario in services.list_scenarios():
        if scenario.engine == "inventory":
            continue  # its starter is the exercise; the (s, S) test plays a full policy
        code = services.starter_code(scenario)
        run = play(services.submit_code(learner, scenario.slug, code))
        assert run.status == Run.Status.FINISHED, (scenario.slug, run.message)


def test_a_failing_policy_is_recorded_once_with_its_reason(code_ready: None,
                                                           learner: User) -> None:
    code = "def act(observation):\n    print('deciding...')\n    return {'decision': [7]}\n"
    run = play(services.submit_code(learner, FRAUD, code))
    assert run.status == Run.Status.FAILED
    assert "decision" in run.message and "period 1" in run.message
    assert "deciding..." in run.output_excerpt
    assert run.kpis == {} and run.passed is None
    # The record step is idempotent: recording the same result again changes nothing.
    assert run.job_id is not None
    job = Job.objects.get(pk=run.job_id)
    services.record_code_run(job, {"run_id": run.pk, "status": "finished", "episode": {}})
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED


def test_the_run_page_follows_a_code_run(code_ready: None, learner: User) -> None:
    client = Client()
    client.force_login(learner)
    response = client.post(f"/simulations/{FRAUD}/code/", {
        "code": services.starter_code(services.get_scenario(FRAUD))})
    assert response.status_code == 302
    url = response["Location"]
    assert url.endswith(f"/simulations/{FRAUD}/runs/1/")
    queued = client.get(url).content.decode()
    assert "Queued" in queued and 'hx-trigger="every 2s"' in queued
    play(Run.objects.get(user=learner))
    status = client.get(f"{url}status/").content.decode()
    assert "Finished." in status and "hx-trigger" not in status
    assert "Debrief" in status


def test_code_runs_are_throttled_per_hour(code_ready: None, learner: User,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "CODE_RUNS_PER_HOUR", 1)
    code = "def act(observation):\n    return {'decision': 0}\n"
    services.submit_code(learner, FRAUD, code)
    with pytest.raises(Throttled):
        services.submit_code(learner, FRAUD, code)
    # Parameter runs have their own allowance.
    assert services.run_parameters(learner, FRAUD, values_for(FRAUD)).number == 2


def test_a_worker_starts_the_warm_sandbox_its_first_code_run_takes(
        code_ready: None, learner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    from upskill.simulations import codemode, tasks

    warm: list[bool] = []
    run_policy_code = codemode.run_policy_code

    def recording(*args: Any, **kwargs: Any) -> codemode.CodeRun:
        outcome = run_policy_code(*args, **kwargs)
        warm.append(outcome.timings.warm_start)
        return outcome

    monkeypatch.setattr(codemode, "run_policy_code", recording)
    code = services.starter_code(services.get_scenario(FRAUD))
    tasks.warm_start()  # what `manage.py worker` runs as it starts (jobs.on_worker_start)
    first = play(services.submit_code(learner, FRAUD, code))
    second = play(services.submit_code(learner, FRAUD, code))
    assert first.status == second.status == Run.Status.FINISHED, first.message
    assert warm == [True, True]  # the first took the worker's, the second the first's refill
