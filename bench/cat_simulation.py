"""Adaptive testing bench: our CAT (``upskill.assessment.cat``) against a peer and a fixed form,
and the role diagnostic on the starter item bank.

Part 1, a simulated bank. A seeded 3PL bank (default 1,000 items, one skill area;
a ~ lognormal(0.2, 0.25), b ~ N(0, 1), c ~ U(0, 0.25)) and seeded examinees (default 1,000,
theta ~ N(0, 1)). Every method sees the same examinees and the same random numbers: examinee e
answers item j correctly iff u[e, j] < P_j(theta_e), so two methods that give the same item get
the same answer.

- ours: SE <= 0.3 stop, 5..60 items, randomesque-5, EAP with an N(0, 1) prior;
- the peer: catsim's ``MaxInfoSelector`` + ``NumericalSearchEstimator`` (ML) +
  ``MinErrorStopper(0.3, 5, 60)`` when catsim imports (PyPI ``catsim``, not a project
  dependency); otherwise our own selector with k = 1 (plain maximum information);
- fixed: the L most informative items at theta = 0 for everyone, L = our mean length rounded,
  scored by the same EAP;
- ours + Sympson-Hetter: exposure parameters tuned for r_max = 0.25 by
  ``cat.tune_sympson_hetter`` on 1,000 other simulated examinees, then run (with
  ``cat.simulate_sessions``) on the same examinees as the rest, with k = 1 and k = 5.

Prints mean length, RMSE of theta, the largest item exposure rate (share of examinees who saw
the most-used item), the share with final SE <= 0.3, our time per item selection as a ratio to
the peer's (below 1 means ours selects faster), and each Sympson-Hetter run's mean length as a
ratio to the peer's.

Part 2, the starter bank. The items of ``content/diagnostic-bank/items/*.yaml`` (file name =
skill slug) with provisional parameters from ``bank.provisional_parameters``, skills and
areas (the skill's category) from ``content/skills-and-roles``. For each role, 1,000 simulated
examinees: area abilities ~ N(0, 1), each skill = its area + N(0, 0.6^2), everyone starting
from "some" experience (so the prior matches the population); the diagnostic policy
``cat.DIAGNOSTIC_POLICY_DEFAULTS`` with the role's target levels as weights. Per role: mean
length, RMSE of the role's skills (``cat.skill_estimates``) and areas, the largest item exposure,
and the share of the role's skills classified correctly against its target level (mastered iff
theta >= ``bank.TARGET_THETA[level]``), beside the same share for each skill scored on its own
answers alone (no area) and for the prior alone. Missing or malformed item files are reported
and skipped. On the same examinees and answers, per role: catsim's max-information CAT (ML) on
the role's items as one scale (no content balancing; its one theta scores every skill), fixed
at our mean length rounded, and the best fixed form of that length (most informative at
theta = 0; each skill by the EAP of its own form items, the whole form's EAP if it has none),
with our time per selection as a ratio to catsim's. ``--grid`` compares a set of candidate
policies (the table used to choose the defaults).

Run: ``.venv/bin/python -m bench.cat_simulation`` (``--part simulated|starter``,
``--examinees``, ``--items``, ``--peer k1``, ``--role-examinees``, ``--grid``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from upskill.assessment import bank as item_rules
from upskill.assessment import cat, irt

SE_STOP = 0.3
MIN_ITEMS = 5
MAX_ITEMS = 60
R_MAX = 0.25
# Sympson-Hetter holds each item's rate to r_max on the tuning sample; on fresh examinees the
# rates scatter binomially around it, so the bench tunes a little below the 0.25 cap it reports.
TUNE_R_MAX = 0.22

CONTENT = Path(__file__).resolve().parent.parent / "content"
SKILL_SPREAD = 0.6  # SD of a skill around its area in the simulated population


# --- part 1: a simulated 1,000-item bank ----------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    bank: cat.ItemBank
    theta: np.ndarray  # (N,)
    uniforms: np.ndarray  # (N, J)
    probabilities: np.ndarray  # (N, J)

    def answer(self, examinee: int, item: int) -> bool:
        return bool(self.uniforms[examinee, item] < self.probabilities[examinee, item])

    @property
    def correct(self) -> np.ndarray:
        return self.uniforms < self.probabilities


@dataclass(frozen=True)
class Result:
    name: str
    lengths: np.ndarray
    estimates: np.ndarray
    standard_errors: np.ndarray
    exposure_counts: np.ndarray
    selection_s: float  # total time spent choosing items
    selections: int  # 0: run in batch by cat.simulate_sessions, not timed per selection

    def row(self, theta: np.ndarray) -> str:
        rmse = float(np.sqrt(np.mean((self.estimates - theta) ** 2)))
        precise = float(np.mean(self.standard_errors <= SE_STOP))
        per_selection = f"{'-':>11}"  # run in batch: no per-selection time
        if self.selections:
            per_selection = f"{1e3 * self.selection_s / self.selections:>11.3f}"
        return (
            f"{self.name:<28} {self.lengths.mean():>7.1f} {rmse:>6.3f} "
            f"{self.max_exposure(theta.size):>9.2f} {precise:>9.2f} {per_selection}"
        )

    def max_exposure(self, n_examinees: int) -> float:
        return float(self.exposure_counts.max() / n_examinees)


def simulate(n_examinees: int, n_items: int, seed: int) -> Simulation:
    rng = np.random.default_rng(seed)
    bank = cat.ItemBank.from_difficulty(
        rng.lognormal(0.2, 0.25, n_items),
        rng.normal(0.0, 1.0, n_items),
        rng.uniform(0.0, 0.25, n_items),
        np.zeros(n_items, dtype=np.int64),
    )
    theta = rng.standard_normal(n_examinees)
    uniforms = rng.random((n_examinees, n_items))
    return Simulation(bank, theta, uniforms, irt.probability(theta, bank.items))


def simulated_policy(k: int) -> cat.CatPolicy:
    return cat.CatPolicy(
        (1.0,), se_threshold=SE_STOP, min_items=MIN_ITEMS, max_items=MAX_ITEMS, randomesque_k=k
    )


def run_ours(sim: Simulation, k: int, seed: int) -> Result:
    policy = simulated_policy(k)
    rng = np.random.default_rng(seed)
    n = sim.theta.size
    lengths, estimates, errors = np.zeros(n), np.zeros(n), np.zeros(n)
    exposure = np.zeros(sim.bank.n_items)
    selection_s, selections = 0.0, 0
    for e in range(n):
        session = cat.start_session(sim.bank, policy, ["some"], rng)
        while cat.stop_reason(sim.bank, policy, session) is None:
            started = time.perf_counter()
            item = cat.select_item(sim.bank, policy, session, rng)
            selection_s += time.perf_counter() - started
            selections += 1
            assert item is not None
            session = cat.record_response(sim.bank, policy, session, item, sim.answer(e, item))
        lengths[e] = session.n_administered
        estimates[e] = session.estimates[0].theta
        errors[e] = session.estimates[0].standard_error
        exposure[list(session.administered)] += 1
    return Result(
        f"ours randomesque-{k}", lengths, estimates, errors, exposure, selection_s, selections
    )


def run_tuned(sim: Simulation, k: int, seed: int) -> tuple[Result, float]:
    """Sympson-Hetter tuned on other examinees, then run on the bench's; also the tuning time."""
    policy = simulated_policy(k)
    started = time.perf_counter()
    exposure_k = cat.tune_sympson_hetter(
        sim.bank,
        policy,
        np.random.default_rng(seed + 1).standard_normal(sim.theta.size),
        np.random.default_rng(seed + 2),
        r_max=TUNE_R_MAX,
    )
    tuning_s = time.perf_counter() - started
    bank = dataclasses.replace(sim.bank, exposure_k=exposure_k)
    n = sim.theta.size
    sessions = cat.simulate_sessions(
        bank, policy, [["some"]] * n, sim.correct, np.random.default_rng(seed + 3)
    )
    exposure = np.bincount(
        [j for session, _ in sessions for j in session.administered], minlength=bank.n_items
    )
    name = f"ours {'max-info' if k == 1 else f'randomesque-{k}'} + SH {TUNE_R_MAX}"
    result = Result(
        name,
        np.array([session.n_administered for session, _ in sessions], dtype=float),
        np.array([session.estimates[0].theta for session, _ in sessions]),
        np.array([session.estimates[0].standard_error for session, _ in sessions]),
        exposure.astype(float),
        0.0,
        0,
    )
    return result, tuning_s


def run_catsim(sim: Simulation) -> Result:
    from catsim.estimation import NumericalSearchEstimator  # type: ignore[import-not-found, unused-ignore]
    from catsim.item_bank import ItemBank  # type: ignore[import-not-found, unused-ignore]
    from catsim.selection import MaxInfoSelector  # type: ignore[import-not-found, unused-ignore]
    from catsim.stopping import MinErrorStopper  # type: ignore[import-not-found, unused-ignore]

    items = sim.bank.items
    params = np.column_stack([items.a, items.b, items.c, np.ones(sim.bank.n_items)])
    bank = ItemBank(params)
    selector, estimator = MaxInfoSelector(), NumericalSearchEstimator()
    stopper = MinErrorStopper(SE_STOP, min_items=MIN_ITEMS, max_items=MAX_ITEMS)
    n = sim.theta.size
    lengths, estimates, errors = np.zeros(n), np.zeros(n), np.zeros(n)
    exposure = np.zeros(sim.bank.n_items)
    selection_s, selections = 0.0, 0
    for e in range(n):
        administered: list[int] = []
        responses: list[bool] = []
        theta = 0.0
        while not stopper.stop(administered_items=params[administered], theta=theta):
            started = time.perf_counter()
            selected = selector.select(
                item_bank=bank, administered_items=administered, est_theta=theta
            )
            assert selected is not None
            item = int(selected)
            selection_s += time.perf_counter() - started
            selections += 1
            administered.append(item)
            responses.append(sim.answer(e, item))
            theta = float(
                estimator.estimate(
                    item_bank=bank,
                    administered_items=administered,
                    response_vector=responses,
                    est_theta=theta,
                )
            )
        lengths[e] = len(administered)
        estimates[e] = theta
        information = irt.test_information(theta, items.take(administered))
        errors[e] = 1.0 / np.sqrt(information)
        exposure[administered] += 1
    return Result(
        "catsim max-info (ML)", lengths, estimates, errors, exposure, selection_s, selections
    )


def run_fixed(sim: Simulation, length: int) -> Result:
    """The ``length`` items most informative at theta = 0, given to everyone, scored by EAP."""
    form = np.argsort(-irt.item_information(0.0, sim.bank.items), kind="stable")[:length]
    correct = (sim.uniforms[:, form] < sim.probabilities[:, form]).astype(float)
    scores = irt.estimate_eap_many(correct, sim.bank.items.take(form))
    exposure = np.zeros(sim.bank.n_items)
    exposure[form] = sim.theta.size
    return Result(
        f"fixed form ({length} items)",
        np.full(sim.theta.size, float(length)),
        scores.theta,
        scores.standard_error,
        exposure,
        0.0,
        0,
    )


def catsim_available() -> bool:
    try:
        import catsim  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def simulated_bank_part(args: argparse.Namespace) -> None:
    sim = simulate(args.examinees, args.items, args.seed)
    started = time.perf_counter()
    ours = run_ours(sim, k=5, seed=args.seed)
    if args.peer == "catsim" and catsim_available():
        peer = run_catsim(sim)
    else:
        if args.peer == "catsim":
            print("catsim is not installed; comparing against our selector with k = 1")
        peer = run_ours(sim, k=1, seed=args.seed)
    fixed = run_fixed(sim, round(float(ours.lengths.mean())))
    tuned = [run_tuned(sim, k, args.seed) for k in (1, 5)]
    print(
        f"{args.examinees} examinees, {args.items}-item 3PL bank, stop at SE <= {SE_STOP}, "
        f"{MIN_ITEMS}..{MAX_ITEMS} items ({time.perf_counter() - started:.1f} s)"
    )
    print(
        f"{'method':<28} {'length':>7} {'RMSE':>6} {'max expo':>9} {'SE<=0.3':>9} {'ms/select':>11}"
    )
    for result in (ours, peer, fixed, *(result for result, _ in tuned)):
        print(result.row(sim.theta))
    ours_per = ours.selection_s / ours.selections
    peer_per = peer.selection_s / peer.selections
    print(f"time per selection, ours / {peer.name}: {ours_per / peer_per:.2f}")
    for result, tuning_s in tuned:
        print(
            f"{result.name}: max exposure {result.max_exposure(sim.theta.size):.2f} "
            f"(target {R_MAX}), mean length / {peer.name}'s: "
            f"{result.lengths.mean() / peer.lengths.mean():.2f}, tuned in {tuning_s:.1f} s"
        )


# --- part 2: the starter bank and the roles -------------------------------------------------


@dataclass(frozen=True)
class StarterBank:
    bank: cat.ItemBank
    skills: tuple[str, ...]  # slug of each skill index
    areas: tuple[str, ...]  # category of each area index
    roles: Mapping[str, Mapping[int, int]]  # role slug -> {skill index: target level}
    n_files: int
    problems: tuple[str, ...]  # what was skipped, and why


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        problems.append(f"{path.name}: unreadable ({type(error).__name__})")
        return None


def _item_parameters(entry: Any) -> tuple[float, float, float]:
    """Provisional (a, b, c) of one item entry; ValueError when the entry is malformed."""
    if not isinstance(entry, dict):
        raise ValueError("not a mapping")
    kind, difficulty, options = entry.get("kind"), entry.get("difficulty"), entry.get("options")
    if kind not in item_rules.KINDS:
        raise ValueError(f"kind {kind!r}")
    if not isinstance(difficulty, int) or isinstance(difficulty, bool):
        raise ValueError(f"difficulty {difficulty!r}")
    n_options = len(options) if isinstance(options, list) else 0
    return item_rules.provisional_parameters(kind, difficulty, n_options)


def load_starter_bank(content: Path) -> StarterBank | None:
    """The bank as far as the content goes: unreadable files and malformed items are listed in
    ``problems`` and left out; None when there is no skill list or no usable item at all."""
    problems: list[str] = []
    taxonomy = content / "skills-and-roles"
    skill_specs = _read_yaml(taxonomy / "skills.yaml", problems) or []
    role_specs = _read_yaml(taxonomy / "roles.yaml", problems) or []
    specs = [s for s in skill_specs if isinstance(s, dict) and "slug" in s and "category" in s]
    if not specs:
        return None
    skills = tuple(str(s["slug"]) for s in specs)
    areas = tuple(sorted({str(s["category"]) for s in specs}))
    skill_index = {slug: i for i, slug in enumerate(skills)}
    area_of_skill = [areas.index(str(s["category"])) for s in specs]

    parameters: list[tuple[float, float, float]] = []
    skill_of_item: list[int] = []
    files = sorted((content / "diagnostic-bank" / "items").glob("*.yaml"))
    for path in files:
        if path.stem not in skill_index:
            problems.append(f"{path.name}: no skill {path.stem!r} in skills.yaml")
            continue
        entries = _read_yaml(path, problems)
        if isinstance(entries, dict):
            entries = entries.get("items")
        for position, entry in enumerate(entries if isinstance(entries, list) else []):
            try:
                parameters.append(_item_parameters(entry))
            except ValueError as error:
                problems.append(f"{path.name} item {position + 1}: {error}")
                continue
            skill_of_item.append(skill_index[path.stem])
    if not parameters:
        return None

    roles: dict[str, dict[int, int]] = {}
    for role in role_specs if isinstance(role_specs, list) else []:
        if not isinstance(role, dict) or not isinstance(role.get("skills"), dict):
            continue
        known = {s: level for s, level in role["skills"].items() if s in skill_index}
        problems.extend(
            f"role {role.get('slug')}: unknown skill {s!r}"
            for s in role["skills"]
            if s not in known
        )
        roles[str(role.get("slug"))] = {skill_index[s]: int(level) for s, level in known.items()}
    a, b, c = (np.array(column) for column in zip(*parameters, strict=True))
    bank = cat.ItemBank.from_difficulty(
        a, b, c, skill_of_item, len(skills), area_of_skill=area_of_skill
    )
    return StarterBank(bank, skills, areas, roles, len(files), tuple(problems))


@dataclass(frozen=True)
class MethodRow:
    """One method on one role's examinees, scored on the role's skills."""

    name: str
    length: float
    skill_rmse: float
    max_exposure: float
    accuracy: float  # share of (examinee, role skill) classified right
    selection_s: float = 0.0  # total time choosing items (0: not timed)
    selections: int = 0

    @property
    def ms_per_selection(self) -> float | None:
        return 1e3 * self.selection_s / self.selections if self.selections else None


@dataclass(frozen=True)
class RoleResult:
    role: str
    n_skills: int
    n_unmeasured: int  # role skills without a single item in the bank
    n_areas: int
    length: float
    skill_rmse: float
    area_rmse: float
    max_exposure: float
    accuracy: float  # share of (examinee, role skill) classified right, two-level estimates
    accuracy_alone: float  # the same with each skill scored on its own answers only
    accuracy_prior: float  # the same from the prior alone (no answers)
    # With ``compare``: ours, catsim's max-information CAT and the best fixed form on the same
    # examinees and answers (see ``_compare_methods``).
    methods: tuple[MethodRow, ...] = ()

    def row(self) -> str:
        unmeasured = f"({self.n_unmeasured} no items)" if self.n_unmeasured else ""
        return (
            f"{self.role:<26} {self.n_skills:>6}{unmeasured:<13} {self.n_areas:>5} "
            f"{self.length:>6.1f} {self.skill_rmse:>10.3f} {self.area_rmse:>9.3f} "
            f"{self.max_exposure:>9.2f} {self.accuracy:>8.3f} {self.accuracy_alone:>8.3f} "
            f"{self.accuracy_prior:>8.3f}"
        )


ROLE_HEADER = (
    f"{'role':<26} {'skills':>6}{'':<13} {'areas':>5} {'length':>6} {'skill RMSE':>10} "
    f"{'area RMSE':>9} {'max expo':>9} {'correct':>8} {'alone':>8} {'prior':>8}"
)


def role_population(
    bank: cat.ItemBank, n_examinees: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Abilities per area (N, n_areas) ~ N(0, 1) and per skill (N, n_skills) = area + noise."""
    area_theta = rng.standard_normal((n_examinees, bank.n_areas))
    noise = rng.normal(0.0, SKILL_SPREAD, (n_examinees, bank.n_skills))
    return area_theta, area_theta[:, bank.area_of_skill] + noise


def simulate_role(
    starter: StarterBank,
    role: str,
    settings: Mapping[str, Any],
    n_examinees: int,
    rng: np.random.Generator,
    r_max: float | None = None,
    compare: bool = False,
) -> RoleResult:
    """One role's diagnostic for simulated examinees; with ``r_max``, Sympson-Hetter exposure
    parameters tuned for it on as many other examinees first; with ``compare``, also catsim's
    max-information CAT and the best fixed form on the same examinees and answers."""
    levels = starter.roles[role]
    weights = np.zeros(starter.bank.n_skills)
    weights[list(levels)] = list(levels.values())
    policy = cat.CatPolicy(tuple(weights.tolist()), **settings)
    bank = starter.bank
    if r_max is not None:
        tuning_theta = role_population(bank, n_examinees, rng)[1]
        exposure_k = cat.tune_sympson_hetter(bank, policy, tuning_theta, rng, r_max=r_max)
        bank = dataclasses.replace(bank, exposure_k=exposure_k)
    role_skills = np.array(sorted(levels))
    cut = np.array([item_rules.TARGET_THETA[levels[s]] for s in role_skills])
    role_areas = np.unique(bank.area_of_skill[role_skills])

    area_theta, theta = role_population(bank, n_examinees, rng)
    probability = np.empty((n_examinees, bank.n_items))
    for skill in range(bank.n_skills):
        mine = np.flatnonzero(bank.skill == skill)
        probability[:, mine] = irt.probability(theta[:, skill], bank.items.take(mine))
    correct = rng.random(probability.shape) < probability
    sessions = cat.simulate_sessions(
        bank, policy, [["some"] * bank.n_skills] * n_examinees, correct, rng
    )

    skill_theta = np.array(
        [
            [estimate.theta for estimate in cat.skill_estimates(bank, policy, session)]
            for session, _ in sessions
        ]
    )[:, role_skills]
    alone_theta = _skills_on_their_own(bank, policy, sessions, role_skills)
    area_estimate = np.array([[est.theta for est in s.estimates] for s, _ in sessions])
    truth = theta[:, role_skills]
    mastered = truth >= cut
    exposure = np.bincount(
        [j for session, _ in sessions for j in session.administered], minlength=bank.n_items
    )
    sizes = np.bincount(bank.skill, minlength=bank.n_skills)
    methods: tuple[MethodRow, ...] = ()
    if compare:
        lengths = np.array([s.n_administered for s, _ in sessions], dtype=float)
        ours_s, ours_n = _time_our_selections(bank, policy, correct, rng)
        ours = MethodRow(
            "ours",
            float(lengths.mean()),
            float(np.sqrt(np.mean((skill_theta - truth) ** 2))),
            float(exposure.max() / n_examinees),
            float(np.mean((skill_theta >= cut) == mastered)),
            ours_s,
            ours_n,
        )
        methods = _compare_methods(bank, role_skills, cut, truth, correct, ours)
    return RoleResult(
        role=role,
        n_skills=role_skills.size,
        n_unmeasured=int(np.sum(sizes[role_skills] == 0)),
        n_areas=role_areas.size,
        length=float(np.mean([s.n_administered for s, _ in sessions])),
        skill_rmse=float(np.sqrt(np.mean((skill_theta - truth) ** 2))),
        area_rmse=float(
            np.sqrt(np.mean((area_estimate[:, role_areas] - area_theta[:, role_areas]) ** 2))
        ),
        max_exposure=float(exposure.max() / n_examinees),
        accuracy=float(np.mean((skill_theta >= cut) == mastered)),
        accuracy_alone=float(np.mean((alone_theta >= cut) == mastered)),
        accuracy_prior=float(np.mean((cut <= 0.0) == mastered)),
        methods=methods,
    )


TIMED_EXAMINEES = 200  # examinees replayed one selection at a time to time our selector


def _time_our_selections(
    bank: cat.ItemBank, policy: cat.CatPolicy, correct: np.ndarray, rng: np.random.Generator
) -> tuple[float, int]:
    """Total time of ``cat.select_item`` and the number of calls, replaying the first
    ``TIMED_EXAMINEES`` examinees session by session on the same answers (the scored run is
    ``cat.simulate_sessions``, batched, so it has no per-selection time)."""
    elapsed, calls = 0.0, 0
    for e in range(min(TIMED_EXAMINEES, correct.shape[0])):
        session = cat.start_session(bank, policy, ["some"] * bank.n_skills, rng)
        while cat.stop_reason(bank, policy, session) is None:
            started = time.perf_counter()
            item = cat.select_item(bank, policy, session, rng)
            elapsed += time.perf_counter() - started
            calls += 1
            assert item is not None
            session = cat.record_response(bank, policy, session, item, bool(correct[e, item]))
    return elapsed, calls


def _compare_methods(
    bank: cat.ItemBank,
    role_skills: np.ndarray,
    cut: np.ndarray,
    truth: np.ndarray,
    correct: np.ndarray,
    ours: MethodRow,
) -> tuple[MethodRow, ...]:
    """Ours, catsim's max-information CAT (when catsim imports) and the best fixed form, all of
    length ``round(ours.length)`` but ours, on the role's items and the same (N, J) answers."""
    length = round(ours.length)
    pool = np.flatnonzero(np.isin(bank.skill, role_skills))
    length = min(length, pool.size)
    n = truth.shape[0]

    def scored(name: str, estimate: np.ndarray, exposure: np.ndarray, **timing: Any) -> MethodRow:
        return MethodRow(
            name,
            float(length),
            float(np.sqrt(np.mean((estimate - truth) ** 2))),
            float(exposure.max() / n),
            float(np.mean((estimate >= cut) == (truth >= cut))),
            **timing,
        )

    rows = [ours]
    if catsim_available():
        theta, exposure, selection_s = _catsim_fixed_length(bank, pool, length, correct)
        rows.append(
            scored(
                "catsim max-info (ML)",
                np.repeat(theta[:, np.newaxis], role_skills.size, axis=1),
                exposure,
                selection_s=selection_s,
                selections=n * length,
            )
        )
    # The best fixed form: the role's `length` items most informative at theta = 0.
    form = pool[np.argsort(-irt.item_information(0.0, bank.items.take(pool)), kind="stable")]
    form = form[:length]
    answers = correct[:, form].astype(float)
    overall = irt.estimate_eap_many(answers, bank.items.take(form)).theta
    columns = []
    for skill in role_skills:
        mine = form[bank.skill[form] == skill]
        if mine.size == 0:
            columns.append(overall)
        else:
            columns.append(
                irt.estimate_eap_many(correct[:, mine].astype(float), bank.items.take(mine)).theta
            )
    exposure = np.zeros(bank.n_items)
    exposure[form] = n
    rows.append(scored("fixed form", np.column_stack(columns), exposure))
    return tuple(rows)


def _catsim_fixed_length(
    bank: cat.ItemBank, pool: np.ndarray, length: int, correct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """catsim's ``MaxInfoSelector`` + ``NumericalSearchEstimator`` (ML) on the items ``pool`` as
    one scale, ``length`` items for everyone: (N,) final theta, (J,) exposure counts over the
    whole bank, total selection time."""
    from catsim.estimation import NumericalSearchEstimator  # type: ignore[import-not-found, unused-ignore]
    from catsim.item_bank import ItemBank  # type: ignore[import-not-found, unused-ignore]
    from catsim.selection import MaxInfoSelector  # type: ignore[import-not-found, unused-ignore]

    items = bank.items.take(pool)
    peer = ItemBank(np.column_stack([items.a, items.b, items.c, np.ones(pool.size)]))
    selector, estimator = MaxInfoSelector(), NumericalSearchEstimator()
    n = correct.shape[0]
    estimates = np.zeros(n)
    exposure = np.zeros(bank.n_items)
    selection_s = 0.0
    for e in range(n):
        administered: list[int] = []
        responses: list[bool] = []
        theta = 0.0
        for _ in range(length):
            started = time.perf_counter()
            selected = selector.select(
                item_bank=peer, administered_items=administered, est_theta=theta
            )
            selection_s += time.perf_counter() - started
            assert selected is not None
            administered.append(int(selected))
            responses.append(bool(correct[e, pool[int(selected)]]))
            theta = float(
                estimator.estimate(
                    item_bank=peer,
                    administered_items=administered,
                    response_vector=responses,
                    est_theta=theta,
                )
            )
        estimates[e] = theta
        exposure[pool[administered]] += 1
    return estimates, exposure, selection_s


def _skills_on_their_own(
    bank: cat.ItemBank,
    policy: cat.CatPolicy,
    sessions: Sequence[tuple[cat.Session, cat.StopReason]],
    skills: np.ndarray,
) -> np.ndarray:
    """(N, len(skills)) EAP of each skill from its own answers only, under the prior that
    ``cat.skill_estimates`` gives a skill alone in its area: N(start, skill_spread^2 + prior_sd^2).
    The baseline the area model has to beat."""
    responses = np.full((len(sessions), bank.n_items), np.nan)
    for e, (session, _) in enumerate(sessions):
        responses[e, list(session.administered)] = session.responses
    spread = float(np.hypot(policy.skill_spread, policy.prior_sd))
    columns = []
    for skill in skills:
        mine = np.flatnonzero(bank.skill == skill)
        columns.append(
            irt.estimate_eap_many(responses[:, mine], bank.items.take(mine), prior_sd=spread).theta
        )
    return np.column_stack(columns)


def _policy_text(settings: Mapping[str, Any]) -> str:
    cap = settings["max_items_per_skill"]
    return (
        f"area SE <= {settings['se_threshold']}, {settings['min_items']}..{settings['max_items']}"
        f" items, {'no cap' if cap is None else f'<= {cap}'} per skill, "
        f"randomesque-{settings['randomesque_k']}, skill spread {settings['skill_spread']}"
    )


# Changes to the defaults that --grid compares: stopping threshold, length, per-skill cap,
# randomesque, the skill spread the model assumes (the simulated one is 0.6).
GRID: tuple[Mapping[str, Any], ...] = (
    {"se_threshold": 0.45},
    {"se_threshold": 0.55},
    {"se_threshold": 0.75},
    {"min_items": 12},
    {"max_items": 20},
    {"max_items": 24},
    {"max_items_per_skill": 3},
    {"max_items_per_skill": None},
    {"randomesque_k": 1},
    {"randomesque_k": 3},
    {"skill_spread": 0.4},
    {"skill_spread": 0.8},
)


def _mean_row(label: str, results: Sequence[RoleResult]) -> str:
    return (
        f"{label:<26} {'':>6}{'':<13} {'':>5} "
        f"{np.mean([r.length for r in results]):>6.1f} "
        f"{np.mean([r.skill_rmse for r in results]):>10.3f} "
        f"{np.mean([r.area_rmse for r in results]):>9.3f} "
        f"{max(r.max_exposure for r in results):>9.2f} "
        f"{np.mean([r.accuracy for r in results]):>8.3f} "
        f"{np.mean([r.accuracy_alone for r in results]):>8.3f} "
        f"{np.mean([r.accuracy_prior for r in results]):>8.3f}"
    )


COMPARE_HEADER = (
    f"{'role':<26} {'method':<21} {'length':>6} {'skill RMSE':>10} {'max expo':>9} "
    f"{'correct':>8} {'ms/select':>10}"
)


def _compare_row(role: str, row: MethodRow) -> str:
    per = row.ms_per_selection
    return (
        f"{role:<26} {row.name:<21} {row.length:>6.1f} {row.skill_rmse:>10.3f} "
        f"{row.max_exposure:>9.2f} {row.accuracy:>8.3f} "
        f"{'-' if per is None else f'{per:.3f}':>10}"
    )


def print_comparison(results: Sequence[RoleResult], n_examinees: int) -> None:
    """Ours, catsim and the fixed form per role on the same examinees and answers, the mean over
    roles (max expo: the largest over roles) and ours / catsim's time per selection."""
    if not results or not results[0].methods:
        return
    names = [row.name for row in results[0].methods]
    if "catsim max-info (ML)" not in names:
        print("\ncatsim is not installed: ours against the fixed form only")
    print(
        f"\nsame {n_examinees} examinees and answers per role. catsim: MaxInfoSelector + "
        f"NumericalSearchEstimator (ML) on the role's items as ONE scale (no areas, skills or "
        f"content balancing), fixed length = our mean length rounded; its one theta is every "
        f"skill's estimate. fixed form: the role's items most informative at theta = 0, same "
        f"length, each skill by EAP (N(0, 1)) of its own form items, the EAP of the whole form "
        f"for a skill without one. ours: timed over {TIMED_EXAMINEES} replayed examinees"
    )
    print(COMPARE_HEADER)
    for result in results:
        for row in result.methods:
            print(_compare_row(result.role, row))
    for i, name in enumerate(names):
        rows = [result.methods[i] for result in results]
        mean = MethodRow(
            name,
            float(np.mean([r.length for r in rows])),
            float(np.mean([r.skill_rmse for r in rows])),
            max(r.max_exposure for r in rows),
            float(np.mean([r.accuracy for r in rows])),
            sum(r.selection_s for r in rows),
            sum(r.selections for r in rows),
        )
        print(_compare_row("mean over roles", mean))
    if "catsim max-info (ML)" in names:
        peer = names.index("catsim max-info (ML)")

        def ratio(ours: Sequence[MethodRow], theirs: Sequence[MethodRow]) -> float:
            ours_per = sum(r.selection_s for r in ours) / sum(r.selections for r in ours)
            theirs_per = sum(r.selection_s for r in theirs) / sum(r.selections for r in theirs)
            return ours_per / theirs_per

        per_role = ", ".join(
            f"{r.role} {ratio([r.methods[0]], [r.methods[peer]]):.2f}" for r in results
        )
        overall = ratio([r.methods[0] for r in results], [r.methods[peer] for r in results])
        print(f"time per selection, ours / catsim's: {overall:.2f} over all roles")
        print(f"  per role: {per_role}")


def starter_bank_part(args: argparse.Namespace) -> None:
    starter = load_starter_bank(CONTENT)
    if starter is None:
        print("starter bank: no skills or no usable items under content/; nothing to simulate")
        return
    bank = starter.bank
    counted = np.bincount(bank.skill, minlength=bank.n_skills)
    print(
        f"starter bank: {bank.n_items} items from {starter.n_files} files; "
        f"{int(np.sum(counted > 0))} of {bank.n_skills} skills have items "
        f"({int(counted.min())}..{int(counted.max())} per skill), {bank.n_areas} areas; "
        f"provisional 3PL parameters"
    )
    for problem in starter.problems[:20]:
        print(f"  skipped: {problem}")
    if len(starter.problems) > 20:
        print(f"  ... and {len(starter.problems) - 20} more problems")
    print(
        f"{args.role_examinees} examinees per role: area ~ N(0, 1), skill = area + "
        f"N(0, {SKILL_SPREAD}^2), all start from 'some'. 'correct': share of the role's skills "
        f"classified right (theta >= TARGET_THETA[level]) by cat.skill_estimates; 'alone': "
        f"each skill from its own answers only; 'prior': no answers"
    )
    roles = sorted(starter.roles)

    def run(
        settings: Mapping[str, Any], r_max: float | None = None, compare: bool = False
    ) -> list[RoleResult]:
        return [
            simulate_role(
                starter,
                role,
                settings,
                args.role_examinees,
                np.random.default_rng(args.seed),
                r_max,
                compare,
            )
            for role in roles
        ]

    started = time.perf_counter()
    defaults = cat.DIAGNOSTIC_POLICY_DEFAULTS
    results = run(defaults, compare=True)
    print(f"\npolicy cat.DIAGNOSTIC_POLICY_DEFAULTS: {_policy_text(defaults)}")
    print(ROLE_HEADER)
    for result in results:
        print(result.row())
    print(_mean_row("mean over roles", results))
    # With 5 items per skill and ~2 of them asked, a skill's items average 0.4 exposure: 0.25
    # cannot be met, and trying only moves the exposure onto the fallback items.
    for r_max in (R_MAX, 0.5):
        print(_mean_row(f"... + Sympson-Hetter {r_max}", run(defaults, r_max)))
    print_comparison(results, args.role_examinees)
    print(f"({time.perf_counter() - started:.1f} s)")
    if not args.grid:
        return
    print("\nother policies, mean over roles (max expo: the largest over roles)")
    print(ROLE_HEADER)
    for change in GRID:
        print(
            _mean_row(", ".join(f"{k} {v}" for k, v in change.items()), run({**defaults, **change}))
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=["all", "simulated", "starter"], default="all")
    parser.add_argument("--examinees", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--peer", choices=["catsim", "k1"], default="catsim")
    parser.add_argument("--role-examinees", type=int, default=1000)
    parser.add_argument("--grid", action="store_true", help="compare candidate policies")
    args = parser.parse_args(argv)
    if args.part in ("all", "simulated"):
        simulated_bank_part(args)
    if args.part in ("all", "starter"):
        if args.part == "all":
            print()
        starter_bank_part(args)


if __name__ == "__main__":
    main()
