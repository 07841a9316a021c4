"""Catalog bench: starter-content import time and the lesson page against the HTTP floor.

1. Import: in a scratch SQLite database, time reading and validating every file of
   ``content/`` (the floor: parsing is the least an import must do), then the full
   import (validate, write, render Markdown, index for search) and an unchanged
   re-import. Reports import / parse as a ratio.
2. Lesson page: serve the imported catalog with gunicorn on 127.0.0.1, sign in as
   the demo learner and load a reading lesson and ``/healthz`` (the floor of
   ``bench/http_floor.py``) under the same bounded load; reports lesson / floor.

Run: ``.venv/bin/python -m bench.catalog`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.http_floor import (
    BASE_DIR,
    DEMO_LEARNER,
    BenchError,
    cpu_ratio,
    format_table,
    log_in,
    measure_against_floor,
    ratio,
    scratch_env,
    scratch_site,
)

RESULT_PATH = BASE_DIR / "var" / "bench" / "catalog.json"
LESSON_PATH = "/courses/data-literacy-sql/sql-select-where-order-by/"

_TIMING_SCRIPT = """
import json, time, django
django.setup()
from pathlib import Path
from django.core.management import call_command
from upskill.catalog import packages, services
from upskill.catalog.models import Lesson
call_command("migrate", "--noinput", verbosity=0)
root = Path("content")
start = time.perf_counter(); tree = packages.load_tree(root); parse_s = time.perf_counter() - start
start = time.perf_counter(); report = services.import_content(root)
import_s = time.perf_counter() - start
assert report.ok, [str(p) for p in report.problems]
start = time.perf_counter(); again = services.import_content(root)
reimport_s = time.perf_counter() - start
assert again.released == []
print("RESULT" + json.dumps({"parse_s": parse_s, "import_s": import_s,
      "reimport_s": reimport_s, "packages": len(tree.packages),
      "lessons": Lesson.objects.count()}))
"""


def time_import() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="upskill-bench-import-") as scratch:
        env = scratch_env(Path(scratch))
        done = subprocess.run([sys.executable, "-c", _TIMING_SCRIPT], cwd=BASE_DIR, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0 or "RESULT" not in done.stdout:
            raise BenchError(f"import failed: {done.stderr[-2000:]}")
        result: dict[str, float] = json.loads(done.stdout.split("RESULT", 1)[1])
        return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lesson", default=LESSON_PATH, help="lesson page to load")
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        timing = time_import()
        with scratch_site(setup=[["content", "import", "content"]]) as site:
            cookies = log_in(site, *DEMO_LEARNER)
            results = measure_against_floor(site, [args.lesson], cookies,
                                            requests=args.requests,
                                            duration_s=args.duration_s,
                                            concurrency=args.concurrency)
    except (BenchError, ValueError) as error:
        print(f"catalog bench: {error}", file=sys.stderr)
        return 2
    floor, lesson = results
    import_ratio = timing["import_s"] / timing["parse_s"]
    print(f"content import: {timing['packages']} packages, {timing['lessons']} lessons; "
          f"parse+validate {timing['parse_s']:.2f} s, import {timing['import_s']:.2f} s, "
          f"unchanged re-import {timing['reimport_s']:.2f} s")
    print(f"ratio import / parse floor: {import_ratio:.2f}; "
          f"re-import / parse floor: {timing['reimport_s'] / timing['parse_s']:.2f}")
    print(format_table(results))
    print(f"ratio {args.lesson} / {floor.path} by req/s: {ratio(lesson, floor):.3f}")
    by_cpu = cpu_ratio(lesson, floor)
    if by_cpu is not None:
        print(f"ratio by server CPU per request: {by_cpu:.3f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "import": {**timing, "ratio_import_to_parse": round(import_ratio, 3)},
        "lesson_page": {"path": args.lesson, "ratio_to_floor": round(ratio(lesson, floor), 4),
                        "cpu_ratio_to_floor": by_cpu},
    }, indent=2) + "\n")
    print(f"wrote {args.output}")
    if any(r.errors for r in results):
        print("FAILED: some requests errored or were not 2xx", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
