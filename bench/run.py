"""Benchmark: dockernet's overhead, and how long each lesson takes headless.

    make bench        (or: .venv/bin/python bench/run.py [--repeat N] [--skip-lessons])

Prints figures and writes bench/results.json; it never fails on time. Every
object it makes is labelled as learner ``bench`` and removed by label at the end;
all traffic goes between the bench's own containers, and their DNS stays local.

1. Per operation, the median of N runs of: dockernet, the bare docker SDK call,
   and the docker CLI, with ratios (targets: dockernet / SDK <= 1.10).
2. Each lesson notebook executed headless in a fresh kernel (target: 01 and 02
   under 15 s on 2 cores once the image exists).
3. Lessons 01 and 02's core steps as a docker CLI script (bench/lesson0N.sh)
   beside the notebook, as a ratio.
4. Lesson 10's two simulated Docker hosts started from nothing (the host image
   present), as ``hosts.start`` does it in the lesson (target: under 30 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker
from docker.types import IPAMConfig, IPAMPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import dockernet as dn  # noqa: E402
from dockernet import addressing, naming  # noqa: E402
from dockernet.cleanup import remove_lab_objects  # noqa: E402

LEARNER = "bench"
LESSON = "99-bench"
# Two halves of the default lab pool: one for dockernet's allocations, one for the raw calls.
LAB_POOL, RAW_POOL = addressing.parse_pool(addressing.DEFAULT_POOL).subnets(prefixlen_diff=1)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_ms(samples) -> float:
    return round(statistics.median(samples) * 1000, 1)


def cli(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def bench_operations(lab: dn.Lab, repeat: int) -> dict:
    """network create, container start, probe: dockernet vs SDK vs CLI."""
    client = lab.client
    labels = naming.lab_labels(LEARNER, LESSON, "bench", "raw")
    label_args = [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
    has_cli = shutil.which("docker") is not None
    results = {}

    # The bare SDK and CLI calls get subnets picked beforehand from the half of the pool the lab
    # does not use (see main), so they do no allocation work and never collide with the lab's.
    taken = [net for _, net in addressing.docker_subnets(client)]
    raw_subnets = []
    for _ in range(2 * repeat):
        raw_subnets.append(addressing.first_free(RAW_POOL, 24, taken + raw_subnets))
    samples = {"dockernet": [], "sdk": [], "cli": []}
    for index in range(repeat):
        samples["dockernet"].append(timed(lambda: lab.network(f"net{index}")))
        samples["sdk"].append(timed(lambda: client.networks.create(
            f"dn-bench-sdk-net{index}", labels=labels,
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=str(raw_subnets[index]))]))))
        if has_cli:
            samples["cli"].append(timed(lambda: cli(
                "network", "create", "--subnet", str(raw_subnets[repeat + index]), *label_args,
                f"dn-bench-cli-net{index}")))
    results["network create"] = samples

    samples = {"dockernet": [], "sdk": [], "cli": []}
    for index in range(repeat):
        samples["dockernet"].append(timed(lambda: lab.run(f"box{index}")))
        samples["sdk"].append(timed(lambda: client.containers.create(
            lab.image, ["sleep", "infinity"], name=f"dn-bench-sdk-box{index}", labels=labels,
            detach=True, init=True).start()))
        if has_cli:
            samples["cli"].append(timed(lambda: cli(
                "run", "-d", "--init", *label_args, "--name", f"dn-bench-cli-box{index}",
                lab.image, "sleep", "infinity")))
    results["container start"] = samples

    lab.hello_server("server")
    url = f"http://{lab.ip('server')}:8000/"
    source = lab.get_container("box0")
    samples = {"dockernet": [], "sdk": [], "cli": []}
    for _ in range(repeat):
        samples["dockernet"].append(timed(lambda: lab.curl("box0", url).expect_success()))
        samples["sdk"].append(timed(lambda: source.exec_run(["curl", "-sS", "--max-time", "3", url])))
        if has_cli:
            samples["cli"].append(timed(lambda: cli("exec", source.name, "curl", "-sS",
                                                    "--max-time", "3", url)))
    results["probe (curl)"] = samples

    table = {}
    for operation, runs in results.items():
        row = {kind: median_ms(values) for kind, values in runs.items() if values}
        row["dockernet/sdk"] = round(row["dockernet"] / row["sdk"], 2)
        if "cli" in row:
            row["dockernet/cli"] = round(row["dockernet"] / row["cli"], 2)
        table[operation] = row
    return table


def bench_lessons() -> dict:
    """Each notebook headless, once, in a fresh kernel; and 01/02 against their CLI scripts."""
    from nbrun import execute

    timings = {}
    env = {"DOCKERNET_LEARNER": LEARNER}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        seconds = timed(lambda: execute(path, env=env))
        row = {"notebook_s": round(seconds, 2)}
        script = ROOT / "bench" / f"lesson{path.name[:2]}.sh"
        if script.exists() and shutil.which("docker"):
            # A subnet of the lab's choosing: never Docker's default pools on a shared daemon.
            subnet = dn.Lab("99-bench-cli", learner="bench", quiet=True).free_subnet()
            cli_seconds = timed(lambda: subprocess.run(
                ["bash", str(script), dn.image.image_tag(), subnet], check=True,
                capture_output=True))
            row["cli_script_s"] = round(cli_seconds, 2)
            row["notebook/cli"] = round(seconds / cli_seconds, 2)
        timings[path.stem] = row
    return timings


def bench_simulated_hosts(client, repeat: int = 2) -> dict:
    """Two simulated hosts from nothing (engines and their volumes made, lab image loaded)."""
    from dockernet import hosts

    lab = dn.Lab("98-bench-hosts", learner=LEARNER, client=client, quiet=True, pool=str(LAB_POOL))
    why_not = hosts.readiness(lab)
    if why_not is not None:
        return {"skipped": why_not}
    runs = []
    try:
        for _ in range(repeat):
            lab.reset()  # from nothing: no host, no volume, no underlay
            runs.append(round(timed(lambda: hosts.start(lab, progress=lambda line: None)), 2))
    finally:
        lab.cleanup()
    return {"two hosts from nothing": {"runs_s": " ".join(map(str, runs)),
                                       "median_s": round(statistics.median(runs), 2),
                                       "target_s": 30}}


def print_table(title: str, rows: dict) -> None:
    columns = list(dict.fromkeys(key for row in rows.values() for key in row))
    width = max(len(name) for name in rows) + 2
    print(f"\n{title}")
    print("".ljust(width) + "".join(c.rjust(15) for c in columns))
    for name, row in rows.items():
        print(name.ljust(width) + "".join(str(row.get(c, "-")).rjust(15) for c in columns))


def main() -> int:
    parser = argparse.ArgumentParser(description="dockernet benchmark (prints figures only)")
    parser.add_argument("--repeat", type=int, default=10, help="runs per operation (default 10)")
    parser.add_argument("--skip-lessons", action="store_true", help="only the operations")
    args = parser.parse_args()
    args.repeat = max(1, min(args.repeat, 50))  # bounded: a benchmark must stop by itself

    client = dn.get_client()
    dn.image.ensure(client)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "engine": client.version().get("Version"),
                           "docker_sdk": docker.__version__}}
    lab = dn.Lab(LESSON, learner=LEARNER, client=client, quiet=True, pool=str(LAB_POOL))
    try:
        results["operations_ms"] = bench_operations(lab, args.repeat)
    finally:
        remove_lab_objects(client, learner=LEARNER)
    print_table(f"Operations, median of {args.repeat} (ms)", results["operations_ms"])
    results["simulated_hosts"] = bench_simulated_hosts(client)
    if "skipped" in results["simulated_hosts"]:
        print(f"\nSimulated hosts: skipped ({results['simulated_hosts']['skipped']})")
    else:
        print_table("Simulated hosts (s)", results["simulated_hosts"])
    if not args.skip_lessons:
        try:
            results["lessons"] = bench_lessons()
        finally:
            remove_lab_objects(client, learner=LEARNER)
        print_table("Lessons headless (s)", results["lessons"])
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
