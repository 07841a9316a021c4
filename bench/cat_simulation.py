"""Adaptive testing bench: our CAT (``upskill.assessment.cat``) against a peer and a fixed form.

Simulates a seeded 3PL bank (default 1,000 items, one skill area; a ~ lognormal(0.2, 0.25),
b ~ N(0, 1), c ~ U(0, 0.25)) and seeded examinees (default 1,000, theta ~ N(0, 1)). Every
method sees the same examinees and the same random numbers: examinee e answers item j
correctly iff u[e, j] < P_j(theta_e), so two methods that give the same item get the same answer.

- ours: SE <= 0.3 stop, 5..60 items, randomesque-5, EAP with an N(0, 1) prior;
- the peer: catsim's ``MaxInfoSelector`` + ``NumericalSearchEstimator`` (ML) +
  ``MinErrorStopper(0.3, 5, 60)`` when catsim imports (PyPI ``catsim``, not a project
  dependency); otherwise our own selector with k = 1 (plain maximum information);
- fixed: the L most informative items at theta = 0 for everyone, L = our mean length rounded,
  scored by the same EAP.

Prints mean length, RMSE of theta, the largest item exposure rate (share of examinees who saw
the most-used item), the share with final SE <= 0.3, and our time per item selection as a ratio
to the peer's (below 1 means ours selects faster).

Run: ``.venv/bin/python -m bench.cat_simulation`` (``--examinees``, ``--items``, ``--peer k1``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from upskill.assessment import cat, irt

SE_STOP = 0.3
MIN_ITEMS = 5
MAX_ITEMS = 60


@dataclass(frozen=True)
class Simulation:
    bank: cat.ItemBank
    theta: np.ndarray  # (N,)
    uniforms: np.ndarray  # (N, J)
    probabilities: np.ndarray  # (N, J)

    def answer(self, examinee: int, item: int) -> bool:
        return bool(self.uniforms[examinee, item] < self.probabilities[examinee, item])


@dataclass(frozen=True)
class Result:
    name: str
    lengths: np.ndarray
    estimates: np.ndarray
    standard_errors: np.ndarray
    exposure_counts: np.ndarray
    selection_s: float  # total time spent choosing items
    selections: int

    def row(self, theta: np.ndarray) -> str:
        rmse = float(np.sqrt(np.mean((self.estimates - theta) ** 2)))
        exposure = float(self.exposure_counts.max() / theta.size)
        precise = float(np.mean(self.standard_errors <= SE_STOP))
        per_selection_ms = 1e3 * self.selection_s / max(self.selections, 1)
        return (
            f"{self.name:<28} {self.lengths.mean():>7.1f} {rmse:>6.3f} {exposure:>9.2f} "
            f"{precise:>9.2f} {per_selection_ms:>11.3f}"
        )


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


def run_ours(sim: Simulation, k: int, seed: int) -> Result:
    policy = cat.CatPolicy(
        (1.0,), se_threshold=SE_STOP, min_items=MIN_ITEMS, max_items=MAX_ITEMS, randomesque_k=k
    )
    rng = np.random.default_rng(seed)
    n = sim.theta.size
    lengths, estimates, errors = np.zeros(n), np.zeros(n), np.zeros(n)
    exposure = np.zeros(sim.bank.n_items)
    selection_s, selections = 0.0, 0
    for e in range(n):
        session = cat.start_session(sim.bank, policy, ["some"])
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examinees", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--peer", choices=["catsim", "k1"], default="catsim")
    args = parser.parse_args(argv)

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
    print(
        f"{args.examinees} examinees, {args.items}-item 3PL bank, stop at SE <= {SE_STOP}, "
        f"{MIN_ITEMS}..{MAX_ITEMS} items ({time.perf_counter() - started:.1f} s)"
    )
    print(
        f"{'method':<28} {'length':>7} {'RMSE':>6} {'max expo':>9} {'SE<=0.3':>9} {'ms/select':>11}"
    )
    for result in (ours, peer, fixed):
        print(result.row(sim.theta))
    ours_per = ours.selection_s / ours.selections
    peer_per = peer.selection_s / peer.selections
    print(f"time per selection, ours / {peer.name}: {ours_per / peer_per:.2f}")


if __name__ == "__main__":
    main()
