"""Mentor matching bench: the optimal assignment against the greedy peer, in the same run.

A seeded synthetic pool shaped like the platform's: 2,000 open requests and 300 mentors
(``--requests``, ``--mentors``), 70 skills in 7 areas (a request's gap is 3-8 skills of one or
two areas, weighted 0.5-2; a mentor knows 5-15 skills, mostly of their own areas), languages
as a global professional pool would have them (English for nearly all mentors, then Spanish,
Portuguese, Hindi, German, French, Chinese, Arabic), homes in twelve time zones from UTC-8 to
UTC+10 with weekday-evening and weekend-morning availability in local time, mentor capacity
1-5 with some seats already taken, and a few preferences and declines.

Both sides get the same pair scores (``matching.score_matrix``, timed once and reported
apart): ``matching.match`` (linear_sum_assignment over one column per free seat) and
``matching.greedy_match`` (requests in order, best feasible mentor with a seat), interleaved
``--rounds`` times, medians of wall and CPU time. Printed: total score, requests matched, mean
gap coverage and overlap of each, and the ratios ours / greedy for total score (at least 1 by
construction: ``match`` is optimal) and for time. Writes ``var/bench/mentor_matching.json``.
Run: ``.venv/bin/python -m bench.mentor_matching``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from upskill.mentoring.matching import (
    SLOTS_PER_WEEK,
    Assignment,
    Mentor,
    Request,
    ScoreMatrix,
    greedy_match,
    match,
    score_matrix,
    total_score,
)

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "mentor_matching.json"
SEED = 20261126
AREAS = 7
SKILLS_PER_AREA = 10
SKILLS = [f"skill-{area}-{k}" for area in range(AREAS) for k in range(SKILLS_PER_AREA)]
LANGUAGES = ["en", "es", "pt", "hi", "de", "fr", "zh", "ar"]
SECOND_LANGUAGE_P = [0.0, 0.3, 0.15, 0.15, 0.12, 0.12, 0.08, 0.08]
ZONES_H = [-8, -6, -5, -3, 0, 1, 2, 3, 5.5, 8, 9, 10]
ZONE_P = [0.1, 0.06, 0.12, 0.08, 0.1, 0.14, 0.06, 0.04, 0.14, 0.08, 0.04, 0.04]
INDUSTRIES = ["finance", "health", "retail", "manufacturing", "public", "software"]


def weekly(rng: np.random.Generator, offset_h: float) -> np.ndarray:
    """Some weekday evenings (18-21 local) and a weekend morning, shifted to UTC slots."""
    local = np.zeros(SLOTS_PER_WEEK, dtype=bool)
    evenings = rng.choice(5, size=rng.integers(1, 5), replace=False)
    for day in evenings:
        start = day * 48 + 2 * int(rng.integers(17, 20))
        local[start:start + 2 * int(rng.integers(1, 4))] = True
    if rng.random() < 0.6:
        day = int(rng.integers(5, 7))
        start = day * 48 + 2 * int(rng.integers(8, 11))
        local[start:start + 2 * int(rng.integers(2, 4))] = True
    return np.roll(local, -round(offset_h * 2))


def languages(rng: np.random.Generator, english_p: float) -> frozenset[str]:
    chosen = {"en"} if rng.random() < english_p else set()
    second = rng.choice(len(LANGUAGES), p=SECOND_LANGUAGE_P)
    if rng.random() < 0.6 or not chosen:
        chosen.add(LANGUAGES[second])
    return frozenset(chosen)


def pool(n_requests: int, n_mentors: int, seed: int) -> tuple[list[Request], list[Mentor]]:
    rng = np.random.default_rng(seed)
    mentors = []
    for j in range(n_mentors):
        areas = rng.choice(AREAS, size=rng.integers(1, 3), replace=False)
        own = [s for s in SKILLS if int(s.split("-")[1]) in areas]
        n_skills = int(rng.integers(5, 16))
        skills = set(rng.choice(own, size=min(n_skills, len(own)), replace=False))
        skills |= set(rng.choice(SKILLS, size=2, replace=False))
        capacity = int(rng.integers(1, 6))
        mentors.append(Mentor(
            id=j, skills=frozenset(str(s) for s in skills), languages=languages(rng, 0.95),
            availability=weekly(rng, float(rng.choice(ZONES_H, p=ZONE_P))), capacity=capacity,
            load=int(rng.integers(0, capacity)),
            industries=frozenset({str(rng.choice(INDUSTRIES))}),
            changed_careers=bool(rng.random() < 0.3)))
    requests = []
    for i in range(n_requests):
        areas = rng.choice(AREAS, size=rng.integers(1, 3), replace=False)
        own = [s for s in SKILLS if int(s.split("-")[1]) in areas]
        gap = rng.choice(own, size=int(rng.integers(3, 9)), replace=False)
        declined: list[int] = (rng.choice(n_mentors, size=1).tolist() if rng.random() < 0.1
                               else [])
        requests.append(Request(
            id=i, gap_skills={str(s): float(rng.uniform(0.5, 2.0)) for s in gap},
            languages=languages(rng, 0.8),
            availability=weekly(rng, float(rng.choice(ZONES_H, p=ZONE_P))),
            industry=str(rng.choice(INDUSTRIES)),
            wants_career_changer=bool(rng.random() < 0.2),
            wants_same_industry=bool(rng.random() < 0.2),
            declined_by=frozenset(int(x) for x in declined)))
    return requests, mentors


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def quality(assignments: Sequence[Assignment], requests: Sequence[Request],
            mentors: Sequence[Mentor], scores: ScoreMatrix) -> dict[str, float]:
    by_request = {r.id: (i, r) for i, r in enumerate(requests)}
    by_mentor = {m.id: (j, m) for j, m in enumerate(mentors)}
    coverage, overlap_h = [], []
    for a in assignments:
        i, request = by_request[a.request_id]
        j, mentor = by_mentor[a.mentor_id]
        weights = request.gap_skills
        coverage.append(sum(w for s, w in weights.items() if s in mentor.skills)
                        / sum(weights.values()))
        overlap_h.append(scores.overlap_slots[i, j] / 2)
    return {"total_score": total_score(assignments), "matched": len(assignments),
            "mean_coverage": float(np.mean(coverage)) if coverage else 0.0,
            "mean_overlap_h": float(np.mean(overlap_h)) if overlap_h else 0.0}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--mentors", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args(argv)
    if not (1 <= args.requests <= 20000 and 1 <= args.mentors <= 5000
            and 1 <= args.rounds <= 20):
        parser.error("bounds: --requests 1-20000, --mentors 1-5000, --rounds 1-20")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cpus = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    if load_before > cpus:
        print(f"warning: load average {load_before:.1f} on {cpus} CPUs; other work competes "
              "with the runs and the numbers will be noisy", flush=True)
    requests, mentors = pool(args.requests, args.mentors, args.seed)
    seats = sum(m.free_seats for m in mentors)
    score_wall, score_cpu, scores = timed(lambda: score_matrix(requests, mentors))
    print(f"{len(requests):,} requests x {len(mentors):,} mentors ({seats:,} free seats, "
          f"{scores.feasible.mean():.1%} of pairs feasible), seed {args.seed}; "
          f"pair scores in {score_wall * 1000:.0f} ms (shared by both sides)")
    samples: dict[str, list[tuple[float, float]]] = {"ours": [], "greedy": []}
    results: dict[str, list[Assignment]] = {}
    sides: list[tuple[str, Callable[[], list[Assignment]]]] = [
        ("ours", lambda: match(requests, mentors, scores)),
        ("greedy", lambda: greedy_match(requests, mentors, scores)),
    ]
    for round_number in range(args.rounds):
        for name, run in sides if round_number % 2 == 0 else list(reversed(sides)):
            wall, cpu, assignments = timed(run)
            samples[name].append((wall, cpu))
            results[name] = assignments
    rows = {}
    for name, label in (("ours", "match (linear_sum_assignment)"),
                        ("greedy", "greedy_match (in request order)")):
        q = quality(results[name], requests, mentors, scores)
        wall = statistics.median(w for w, _c in samples[name])
        cpu = statistics.median(c for _w, c in samples[name])
        rows[name] = {**q, "wall_s": wall, "cpu_s": cpu}
        print(f"{label:<34} score {q['total_score']:9.2f}  matched {q['matched']:>5}  "
              f"coverage {q['mean_coverage']:.3f}  overlap {q['mean_overlap_h']:4.1f} h  "
              f"wall {wall * 1000:8.1f} ms  cpu {cpu * 1000:8.1f} ms")
    ours, greedy = rows["ours"], rows["greedy"]
    if ours["total_score"] < greedy["total_score"] - 1e-6:
        print("mentor matching bench: the optimal assignment scored below greedy",
              file=sys.stderr)
        return 1
    score_ratio = ours["total_score"] / greedy["total_score"]
    wall_ratio, cpu_ratio = ours["wall_s"] / greedy["wall_s"], ours["cpu_s"] / greedy["cpu_s"]
    end_to_end = (ours["wall_s"] + score_wall) / (greedy["wall_s"] + score_wall)
    print(f"ratio ours / greedy: total score {score_ratio:.3f}, matched "
          f"{ours['matched'] / max(greedy['matched'], 1):.3f}, coverage "
          f"{ours['mean_coverage'] / max(greedy['mean_coverage'], 1e-9):.3f}")
    print(f"ratio ours / greedy time: {wall_ratio:.1f} by wall, {cpu_ratio:.1f} by CPU "
          f"(assignment step); {end_to_end:.2f} end to end with the shared pair scores")
    load_after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after, {cpus} CPUs")
    summary = {
        "bench": "mentor_matching", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests": len(requests), "mentors": len(mentors), "free_seats": seats,
        "seed": args.seed, "rounds": args.rounds,
        "pair_scores": {"wall_s": score_wall, "cpu_s": score_cpu},
        "ours": ours, "greedy": greedy,
        "ratio_score": score_ratio, "ratio_wall": wall_ratio, "ratio_cpu": cpu_ratio,
        "ratio_end_to_end_wall": end_to_end,
        "machine": {"cpus": cpus, "python": platform.python_version(),
                    "numpy": np.__version__, "platform": platform.platform(),
                    "load_average_1m": {"before": round(load_before, 2),
                                        "after": round(load_after, 2)}},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
