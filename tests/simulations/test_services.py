"""Scenarios imported from content, parameter-mode runs, comparisons, evidence, permissions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.simulations.conftest import scenario_specs
from tests.simulations.test_fraud import GOOD_CHOICES
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.core.errors import Invalid, NotFound, Throttled
from upskill.learning.models import PracticeAnswer
from upskill.simulations import engines, services
from upskill.simulations.models import Run, Scenario

pytestmark = pytest.mark.django_db

FRAUD = "fraud-pattern-drift"


def engine_roles_and_skills() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for spec in scenario_specs().values():
        found.setdefault(spec["engine"], set()).update(spec["roles"])
    return found


class TestStarterCatalog:
    def test_two_scenarios_per_engine_tied_to_roles(self) -> None:
        specs = scenario_specs()
        for engine in engines.NAMES:
            assert sum(1 for spec in specs.values() if spec["engine"] == engine) >= 2, engine
        assert all(spec["roles"] and spec["skills"] for spec in specs.values())

    def test_every_scenario_imports_with_its_roles_skills_and_brief(self, imported_sims: Path
                                                                    ) -> None:
        scenarios = {s.slug: s for s in services.list_scenarios()}
        assert set(scenarios) == set(scenario_specs())
        for slug, spec in scenario_specs().items():
            scenario = scenarios[slug]
            assert {r.slug for r in scenario.roles.all()} == set(spec["roles"])
            assert {s.slug for s in scenario.skills.all()} == set(spec["skills"])
            assert "<p>" in scenario.brief_html and "<script" not in scenario.brief_html

    def test_filter_by_role(self, imported_sims: Path) -> None:
        for engine, roles in engine_roles_and_skills().items():
            role = sorted(roles)[0]
            listed = services.list_scenarios(role)
            assert listed and all(role in {r.slug for r in s.roles.all()} for s in listed), \
                engine


class TestContentRules:
    def _edit(self, root: Path, slug: str, **changes: object) -> None:
        path = root / "simulations" / "scenarios" / slug / "scenario.yaml"
        data = yaml.safe_load(path.read_text())
        data.update(changes)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    @pytest.mark.parametrize(("changes", "field", "words"), [
        ({"controls": ["no_such_knob"]}, "controls.0", "has no control 'no_such_knob'"),
        ({"goal": {"kpi": "happiness", "baseline": "static_model", "improve_by": 0.1}},
         "goal.kpi", "has no KPI 'happiness'"),
        ({"goal": {"kpi": "net_cost", "baseline": "magic", "improve_by": 0.1}},
         "goal.baseline", "has no baseline 'magic'"),
        ({"roles": ["astronaut"]}, "roles.0", "unknown role 'astronaut'"),
        ({"skills": ["juggling"]}, "skills.0", "unknown skill 'juggling'"),
        ({"fixed": {"block_threshold": 7}}, "fixed.block_threshold", "at most"),
        ({"world": {"transactions_per_day": -5}}, "world", ""),
    ])
    def test_a_broken_scenario_is_refused_naming_file_and_field(
            self, sims_root: Path, changes: dict[str, object], field: str, words: str) -> None:
        if "fixed" in changes:
            controls = [c for c in scenario_specs()[FRAUD]["controls"] if c != "block_threshold"]
            changes = {**changes, "controls": controls}
        self._edit(sims_root, FRAUD, **changes)
        report = catalog.import_content(sims_root)
        assert not report.ok
        found = [p for p in report.problems
                 if p.file == f"simulations/scenarios/{FRAUD}/scenario.yaml" and p.field == field]
        assert found, report.problems
        assert words in found[0].reason
        assert not Scenario.objects.exists()  # nothing imported


def values_for(slug: str, **overrides: object) -> dict[str, object]:
    scenario = services.get_scenario(slug)
    engine = engines.get(scenario.engine)
    world = engine.world(scenario.spec["world"])
    controls = {c.name: c for c in engine.controls(world)}
    values: dict[str, object] = {name: controls[name].default
                                 for name in scenario.spec["controls"]}
    values.update(overrides)
    return values


class TestParameterRuns:
    def test_a_run_is_stored_with_settings_seed_kpis_series_and_debrief(
            self, imported_sims: Path, learner: User) -> None:
        run = services.run_parameters(learner, FRAUD, values_for(FRAUD, block_threshold=0.6))
        assert run.status == Run.Status.FINISHED and run.number == 1
        spec = scenario_specs()[FRAUD]
        assert run.seed == spec["seed"] and run.horizon == spec["horizon"]
        assert run.settings["block_threshold"] == 0.6
        assert set(run.kpis) >= {"net_cost", "fraud_losses", "review_backlog"}
        assert all(len(values) == spec["horizon"] for values in run.series.values())
        assert run.debrief and all(isinstance(sentence, str) for sentence in run.debrief)
        assert run.improvement is not None and run.passed is not None

    def test_same_settings_give_the_same_results_and_different_ones_differ(
            self, imported_sims: Path, learner: User) -> None:
        first = services.run_parameters(learner, FRAUD, values_for(FRAUD))
        again = services.run_parameters(learner, FRAUD, values_for(FRAUD))
        other = services.run_parameters(learner, FRAUD, values_for(FRAUD, block_threshold=0.2))
        assert first.kpis == again.kpis and first.series == again.series
        assert other.kpis != first.kpis
        assert [first.number, again.number, other.number] == [1, 2, 3]

    def test_the_baseline_settings_score_zero_improvement(self, imported_sims: Path,
                                                          learner: User) -> None:
        scenario = services.get_scenario(FRAUD)
        engine = engines.get(scenario.engine)
        baseline = engine.baselines(engine.world(scenario.spec["world"]))["static_model"]
        run = services.run_parameters(
            learner, FRAUD, {name: baseline[name] for name in scenario.spec["controls"]
                             if name in baseline})
        assert run.improvement == pytest.approx(0.0, abs=1e-6)
        assert run.passed is False  # the goal asks for 15% better
        stored = Scenario.objects.get(pk=scenario.pk).baseline
        assert stored is not None and stored["kpis"]["net_cost"] == run.kpis["net_cost"]

    @pytest.mark.parametrize(("given", "words"), [
        ({"block_threshold": "lots"}, "enter a number"),
        ({"block_threshold": "nan"}, "finite"),
        ({"block_threshold": 5}, "at most"),
        ({"foreign_rule": "shout"}, "choose one of"),
        ({"made_up": 1}, "There is no setting made_up"),
    ])
    def test_bad_values_are_refused_with_a_reason_and_nothing_is_stored(
            self, imported_sims: Path, learner: User, given: dict[str, object],
            words: str) -> None:
        kept = services.run_parameters(learner, FRAUD, values_for(FRAUD))
        with pytest.raises(Invalid, match=words):
            services.run_parameters(learner, FRAUD, given)
        assert list(Run.objects.filter(user=learner)) == [kept]

    def test_a_control_the_scenario_fixes_cannot_be_set(self, sims_root: Path,
                                                        learner: User) -> None:
        path = sims_root / "simulations" / "scenarios" / FRAUD / "scenario.yaml"
        data = yaml.safe_load(path.read_text())
        data["controls"] = [c for c in data["controls"] if c != "foreign_rule"]
        data["fixed"] = {"foreign_rule": "off"}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        assert catalog.import_content(sims_root).ok
        with pytest.raises(Invalid, match="not something you set"):
            services.run_parameters(learner, FRAUD, {"foreign_rule": "block"})
        run = services.run_parameters(learner, FRAUD, {})
        assert run.settings["foreign_rule"] == "off"

    def test_unknown_scenario_is_not_found(self, imported_sims: Path, learner: User) -> None:
        with pytest.raises(NotFound):
            services.run_parameters(learner, "no-such-simulation", {})

    def test_runs_are_throttled_per_minute_and_saved_runs_stay(
            self, imported_sims: Path, learner: User, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(services, "RUNS_PER_MINUTE", 2)
        services.run_parameters(learner, FRAUD, {})
        services.run_parameters(learner, FRAUD, {})
        with pytest.raises(Throttled, match="runs so far are saved"):
            services.run_parameters(learner, FRAUD, {})
        assert Run.objects.filter(user=learner).count() == 2


class TestEvidence:
    def test_the_first_passing_run_is_evidence_for_each_skill_once(
            self, imported_sims: Path, learner: User) -> None:
        failing = services.run_parameters(learner, FRAUD, values_for(FRAUD, block_threshold=0.0))
        assert failing.passed is False
        assert not PracticeAnswer.objects.filter(user=learner).exists()
        passing = good_run(learner)
        assert passing.passed is True
        skills = set(scenario_specs()[FRAUD]["skills"])
        recorded = PracticeAnswer.objects.filter(user=learner, source="simulation")
        assert {a.skill.slug for a in recorded} == skills
        assert all(a.correct for a in recorded)
        good_run(learner)
        assert PracticeAnswer.objects.filter(user=learner).count() == len(skills)


def good_run(user: User) -> Run:
    """Settings that reach the drift scenario's goal (the fraud engine's tests show it)."""
    return services.run_parameters(user, FRAUD, values_for(FRAUD, **GOOD_CHOICES[FRAUD]))


class TestPrivacyAndComparison:
    def test_another_learner_cannot_see_or_compare_my_runs(
            self, imported_sims: Path, make_user: Callable[..., User]) -> None:
        owner, other = make_user(), make_user()
        services.run_parameters(owner, FRAUD, {})
        services.run_parameters(owner, FRAUD, values_for(FRAUD, block_threshold=0.5))
        with pytest.raises(NotFound):
            services.get_run(other, FRAUD, 1)
        with pytest.raises(NotFound):
            services.compare_runs(other, FRAUD, [1, 2])
        assert services.list_runs(other, FRAUD) == []
        assert services.scenario_view(other, FRAUD).runs == []

    def test_compare_two_runs_explains_the_difference(self, imported_sims: Path,
                                                      learner: User) -> None:
        services.run_parameters(learner, FRAUD, values_for(FRAUD))
        services.run_parameters(learner, FRAUD, values_for(FRAUD, block_threshold=0.3))
        runs = services.compare_runs(learner, FRAUD, [1, 2])
        assert [run.number for run in runs] == [1, 2]
        assert services.compare_debrief(runs)
        with pytest.raises(Invalid, match="between 2 and"):
            services.compare_runs(learner, FRAUD, [1])
        with pytest.raises(NotFound):
            services.compare_runs(learner, FRAUD, [1, 9])

    def test_kpi_rows_mark_the_better_value_in_each_direction(self, imported_sims: Path) -> None:
        engine = engines.get("fraud")
        rows = {row.kpi.name: row for row in services.kpi_rows(engine, [
            {"net_cost": 10.0, "detection_rate": 50.0}, {"net_cost": 8.0, "detection_rate": 40.0},
        ])}
        assert rows["net_cost"].best == 1  # lower is better
        assert rows["detection_rate"].best == 0  # higher is better
        assert rows["fraud_losses"].best is None  # not measured


@pytest.mark.parametrize("slug", sorted(scenario_specs()))
def test_a_first_run_starts_from_the_policy_to_beat(imported_sims: Path, learner: User,
                                                   slug: str) -> None:
    view = services.scenario_view(learner, slug)
    run = services.run_parameters(learner, slug, view.values)
    assert run.improvement == pytest.approx(0.0, abs=1e-9)
    assert run.kpis == view.baseline["kpis"]
