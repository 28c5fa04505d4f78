"""Benchmark: the whole series, headless, as one learner, on one Docker daemon.

    make bench-series                          (PARALLEL=3 by default)
    .venv/bin/python bench/series.py [--parallel 3] [--lessons 00,01,...] [--learner series]

Runs every lesson notebook (or ``--lessons``) in a fresh kernel of its own, as the learner
``--learner``, on the daemon ``DOCKER_HOST`` points to, ``--parallel`` lessons at a time
(longest first, by the last run's times in bench/series.json when there are any). Each
lesson is isolated from the others by its own labels, ports and names, as when one
learner keeps two notebooks open. Prints each lesson's time and the series' wall time,
and writes them to bench/series.json; exits 1 when any lesson failed.

Bounded: each notebook gets ``--timeout`` seconds (600 by default), its process is killed
a minute later, and at the end every object of the learner is removed by label.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import classroom  # bench/classroom.py: one learner per process, its outcome as a dict

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "series.json"


def order_longest_first(notebooks: list[Path], previous: dict) -> list[Path]:
    """The longest lessons of the last run start first, so the tail is short; new ones first.

    >>> order_longest_first([Path("01-a.ipynb"), Path("02-b.ipynb")], {"01-a": 3, "02-b": 9})
    [PosixPath('02-b.ipynb'), PosixPath('01-a.ipynb')]
    """
    return sorted(notebooks, key=lambda path: -previous.get(path.stem, float("inf")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=3, help="lessons at a time (default 3)")
    parser.add_argument("--lessons", default="", help="e.g. 00,01,02 (default: every lesson)")
    parser.add_argument("--learner", default="series", help="the learner id (default series)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook")
    args = parser.parse_args()
    if not 1 <= args.parallel <= 8:
        parser.error("--parallel must be 1 to 8: the machine has few cores, and more lessons at "
                     "once only make each slower")

    import dockernet as dn

    if args.lessons:
        notebooks = classroom.notebooks_for(args.lessons.split(","))
    else:
        notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    previous = json.loads(RESULTS.read_text()).get("seconds", {}) if RESULTS.exists() else {}
    client = dn.connect.get_client()
    version = client.version()["Version"]
    print(f"Series on {dn.connect.find_daemon().base_url} (Docker {version}): {len(notebooks)} "
          f"lessons as learner {args.learner!r}, {args.parallel} at a time", flush=True)

    def one(notebook: Path) -> dict:
        outcome = classroom.spawn_learner(args.learner, notebook, args.timeout)
        print(f"  {notebook.stem:<28} {'ok' if outcome['ok'] else 'FAILED'} in "
              f"{outcome['seconds']:6.1f} s" + ("" if outcome["ok"] else
                                                 f": {outcome['error']}"), flush=True)
        return {**outcome, "lesson": notebook.stem}

    start = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            outcomes = list(pool.map(one, order_longest_first(notebooks, previous)))
    finally:
        classroom.cleanup(client, [args.learner])
    wall = time.monotonic() - start
    seconds = {o["lesson"]: o["seconds"] for o in sorted(outcomes, key=lambda o: o["lesson"])}
    failed = [o["lesson"] for o in outcomes if not o["ok"]]
    print(f"\n== {len(notebooks) - len(failed)}/{len(notebooks)} lessons passed; wall "
          f"{wall:.1f} s with {args.parallel} at a time; the lessons' own times add up to "
          f"{sum(seconds.values()):.1f} s")
    RESULTS.write_text(json.dumps({
        "when": datetime.now().isoformat(timespec="seconds"), "docker": version,
        "parallel": args.parallel, "wall_s": round(wall, 1), "seconds": seconds,
        "failed": failed}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
