"""Benchmark: a classroom on one Docker daemon.

    make bench-classroom                      (LEARNERS=30 LESSONS=01,02 by default)
    .venv/bin/python bench/classroom.py --learners 30 --lessons 01,02 [--prefix classroom]

For each lesson, one learner first runs it alone (the baseline), then N learners
run it at the same time on the daemon ``DOCKER_HOST`` points to (as every lab
does: see :mod:`dockernet.connect`). Every learner is a process and a kernel of
its own, with its own learner id: ``PREFIX00`` alone, ``PREFIX01`` to ``PREFIXNN``
in the crowd. Printed per lesson: passed/failed (and the first error line of
each failure), the crowd's wall time, the p50/p95 latency of its code cells
(from nbclient's timing metadata: ``iopub.status.busy`` to ``shell.execute_reply``)
and the slowest learner's lesson time over the lone learner's. The figures also
go to bench/classroom.json.

Bounded: each notebook gets ``--timeout`` seconds in all (its cells share them),
and a learner's process is killed a minute after that. At the end every object
of the bench's learner ids is removed by label (never anything else). Exits 1
when any learner failed, so all of a classroom must pass.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

#: A learner's process is killed this long after its notebook's own deadline passed.
KILL_GRACE_S = 60
MAX_LEARNERS = 100


# -- one learner: a worker process ----------------------------------------------------------


def cell_latencies(notebook) -> list[float]:
    """Seconds from "kernel busy" to "reply sent" for each executed code cell."""
    latencies = []
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.status.busy" in timing \
                and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                          for key in ("iopub.status.busy", "shell.execute_reply"))
            latencies.append((end - start).total_seconds())
    return latencies


def plain(text: str) -> str:
    # Tracebacks from nbclient carry ANSI colours; a report should not.
    return re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()


def first_line(text: str, limit: int = 200) -> str:
    return (plain(text).splitlines() or [""])[0][:limit]


def run_learner(notebook_path: str, deadline_s: float) -> dict:
    """Execute one notebook for the learner in ``DOCKERNET_LEARNER``; the outcome as a dict."""
    from nbclient.exceptions import CellExecutionError
    from nbrun import execute, failed_checks
    from traitlets.config import Config

    start = time.monotonic()
    limit = start + deadline_s

    def remaining(_cell) -> int:  # the cells share the notebook's deadline
        return max(1, int(limit - time.monotonic()))

    outcome = {"learner": os.environ.get("DOCKERNET_LEARNER", ""), "ok": False, "error": "",
               "cells": []}
    # The kernel talks over Unix sockets in a folder of its own, not TCP ports: 30 kernel
    # managers picking "free" ports at once sometimes pick the same one, and a kernel that
    # cannot bind its port dies before the lesson starts.
    sockets = tempfile.TemporaryDirectory(prefix="dn-classroom-")
    transport = Config({"KernelManager": {"transport": "ipc",
                                          "ip": os.path.join(sockets.name, "kernel")}})
    try:
        # 30 kernels starting at once on 2 cores can miss nbclient's default 60 s start window.
        notebook = execute(notebook_path, timeout=int(deadline_s), timeout_func=remaining,
                           startup_timeout=int(deadline_s), config=transport)
    except CellExecutionError as exc:
        outcome["error"] = first_line(f"{exc.ename}: {exc.evalue}")
        outcome["detail"] = plain(f"{exc.ename}: {exc.evalue}")[:2000]  # for classroom.json
    except Exception as exc:  # noqa: BLE001 - a timeout or a dead kernel: report, never hide
        outcome["error"] = first_line(f"{type(exc).__name__}: {exc}")
    else:
        checks = failed_checks(notebook)  # "not yet" is allowed only right before a solution
        outcome.update(ok=not checks, error=first_line(checks[0]) if checks else "",
                       cells=cell_latencies(notebook))
    finally:
        sockets.cleanup()
    outcome["seconds"] = round(time.monotonic() - start, 2)
    return outcome


# -- the classroom: the parent process -------------------------------------------------------


def spawn_learner(learner: str, notebook: Path, deadline_s: float) -> dict:
    """Run one learner in a process of its own (and so a kernel of its own)."""
    env = {**os.environ, "DOCKERNET_LEARNER": learner}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(notebook),
               "--timeout", str(deadline_s)]
    start = time.monotonic()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=deadline_s + KILL_GRACE_S)
    except subprocess.TimeoutExpired:  # subprocess.run has killed it, by its pid
        return {"learner": learner, "ok": False, "cells": [],
                "error": f"killed after {deadline_s + KILL_GRACE_S:g} s",
                "seconds": round(time.monotonic() - start, 2)}
    lines = done.stdout.strip().splitlines()
    try:
        outcome = {**json.loads(lines[-1]), "learner": learner}
        if not outcome["ok"]:  # the kernel's own complaints land on the worker's stderr
            outcome["stderr"] = plain(done.stderr)[-2000:]
        return outcome
    except (IndexError, ValueError):
        error = first_line((done.stderr.strip().splitlines() or ["no output"])[-1])
        return {"learner": learner, "ok": False, "cells": [], "error": f"worker crashed: {error}",
                "seconds": round(time.monotonic() - start, 2)}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_lesson(notebook: Path, learners: list[str], lone: str, deadline_s: float) -> dict:
    """The lone learner, then the crowd; the lesson's figures."""
    print(f"\n{notebook.stem}: one learner alone ({lone}) ...", flush=True)
    alone = spawn_learner(lone, notebook, deadline_s)
    print(f"  {'ok' if alone['ok'] else 'FAILED'} in {alone['seconds']:.1f} s"
          + ("" if alone["ok"] else f": {alone['error']}"), flush=True)
    print(f"{notebook.stem}: {len(learners)} learners at once ...", flush=True)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(learners)) as pool:
        crowd = list(pool.map(lambda learner: spawn_learner(learner, notebook, deadline_s),
                              learners))
    wall = time.monotonic() - start
    cells = [latency for outcome in crowd for latency in outcome["cells"]]
    slowest = max(crowd, key=lambda outcome: outcome["seconds"])
    return {
        "lone": alone,
        "passed": sum(outcome["ok"] for outcome in crowd),
        "failed": [{"learner": o["learner"], "error": o["error"], "detail": o.get("detail", ""),
                    "stderr": o.get("stderr", "")} for o in crowd if not o["ok"]],
        "wall_s": round(wall, 1),
        "cell_p50_s": round(percentile(cells, 0.50), 3) if cells else None,
        "cell_p95_s": round(percentile(cells, 0.95), 3) if cells else None,
        "cells_timed": len(cells),
        "slowest": {"learner": slowest["learner"], "seconds": slowest["seconds"]},
        "slowest_over_lone": round(slowest["seconds"] / alone["seconds"], 1)
        if alone["seconds"] else None,
        "learners": crowd,
    }


def print_lesson(name: str, figures: dict, learners: int) -> None:
    print(f"\n== {name}: {figures['passed']}/{learners} passed, wall {figures['wall_s']:.1f} s")
    if figures["cells_timed"]:
        print(f"   cell latency p50 {figures['cell_p50_s']:.2f} s, p95 "
              f"{figures['cell_p95_s']:.2f} s ({figures['cells_timed']} cells of the passing "
              "learners)")
    print(f"   slowest learner {figures['slowest']['learner']}: "
          f"{figures['slowest']['seconds']:.1f} s = {figures['slowest_over_lone']} x the lone "
          f"learner's {figures['lone']['seconds']:.1f} s")
    for failure in figures["failed"]:
        print(f"   FAILED {failure['learner']}: {failure['error']}")
    sys.stdout.flush()  # a long bench's figures reach a redirected log as each lesson ends


def cleanup(client, learner_ids: list[str], rounds: int = 3) -> int:
    """Remove every object of the bench's learners, by label; how many were removed.

    A learner whose process was killed can leave a ``docker compose up`` still creating
    containers for a while: such a learner's cleanup is tried again after a pause, up to
    ``rounds`` times, and what still stands is printed, never raised (the figures matter more).
    """
    from dockernet.cleanup import remove_lab_objects
    from dockernet.errors import CleanupIncomplete

    removed, pending = 0, list(learner_ids)
    for round_ in range(rounds):
        left = []
        for learner in pending:
            try:
                found = remove_lab_objects(client, learner=learner)
            except CleanupIncomplete as exc:
                left.append(learner)
                if round_ == rounds - 1:
                    print(f"cleanup: {learner}: {first_line(str(exc))}", flush=True)
                continue
            removed += len(found.containers) + len(found.networks) + len(found.volumes)
        if not left:
            break
        pending = left
        time.sleep(5)
    return removed


def notebooks_for(lessons: list[str]) -> list[Path]:
    found = []
    for number in lessons:
        matches = sorted((ROOT / "notebooks").glob(f"{number}-*.ipynb"))
        if len(matches) != 1:
            raise SystemExit(f"lesson {number!r}: no single notebooks/{number}-*.ipynb "
                             "(use two-digit numbers, e.g. --lessons 01,02)")
        found.append(matches[0])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30, help="learners at once (default 30)")
    parser.add_argument("--lessons", default="01,02", help="comma-separated (default 01,02)")
    parser.add_argument("--prefix", default="classroom",
                        help="learner ids are PREFIX00..PREFIXNN (default classroom)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds per notebook, all its cells together (default 600)")
    parser.add_argument("--worker", metavar="NOTEBOOK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # one learner, in its own process: print the outcome as one JSON line
        print(json.dumps(run_learner(args.worker, args.timeout)))
        return 0
    if not 1 <= args.learners <= MAX_LEARNERS:
        parser.error(f"--learners must be 1 to {MAX_LEARNERS}")
    if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", args.prefix):
        parser.error("--prefix: 1-16 lower-case letters and digits, starting with a letter")
    notebooks = notebooks_for([part.strip() for part in args.lessons.split(",") if part.strip()])

    import dockernet as dn

    client = dn.get_client()
    dn.image.ensure(client)
    width = max(2, len(str(args.learners)))
    lone = f"{args.prefix}{0:0{width}d}"
    learners = [f"{args.prefix}{index:0{width}d}" for index in range(1, args.learners + 1)]
    version = client.version()
    daemon = dn.connect.find_daemon()
    print(f"Classroom on {daemon.base_url} (Docker {version.get('Version')}, "
          f"{os.cpu_count()} CPUs): {args.learners} learners ({learners[0]}..{learners[-1]}), "
          f"lessons {', '.join(n.stem for n in notebooks)}, {args.timeout:g} s per notebook")
    results = {"engine": version.get("Version"), "cpus": os.cpu_count(),
               "learners": args.learners, "lessons": {}}
    try:
        cleanup(client, [lone, *learners])  # leftovers of an interrupted run
        for notebook in notebooks:
            results["lessons"][notebook.stem] = run_lesson(notebook, learners, lone, args.timeout)
            print_lesson(notebook.stem, results["lessons"][notebook.stem], args.learners)
    finally:
        removed = cleanup(client, [lone, *learners])
    print(f"\ncleanup: {removed} objects left by failed runs removed (by label)")
    out = ROOT / "bench" / "classroom.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    failed = any(f["failed"] or not f["lone"]["ok"] for f in results["lessons"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
