"""Self-checks and claims for lesson 14 (performance per driver).

The claims assert orderings only, never figures, each by the rule of
:func:`dockernet.perf.compare`: "A is not above B" holds when A's median is at most B's
median × (1 + tolerance) + slack. A reversed ordering fails only when both samples are
tight (spread ≤ :data:`dockernet.perf.NOISE_LIMIT`); with a wider spread the claim says
"too noisy to judge" and passes, because a classroom of 30 on one 2-core machine makes
measurements noisy, and noise is not a fact about the drivers.

>>> from dockernet.checks import lesson14
>>> lesson14.why_proxy_slower(None)                        # doctest: +ELLIPSIS
CheckResult(passed=False, hint='`why` is None: set it to one letter...')
"""

from __future__ import annotations

import pandas as pd

from .. import perf
from . import CheckResult, choice, fail, verdict

#: The tolerance and slack of every latency ordering: A's median ≤ B's × 1.5 + 0.02 ms.
#: 50 % covers a machine whose load changes between two paths' turns within a round; 0.02 ms
#: covers the clock's and the scheduler's granularity on paths that cost almost nothing.
LATENCY_TOLERANCE, LATENCY_SLACK_MS = 0.5, 0.02
#: The tolerance of every throughput ordering: A's median ≤ B's × 1.5.
THROUGHPUT_TOLERANCE = 0.5
#: (probe, A, B, why A is not above B): latency orderings that hold on any machine.
LATENCY_ORDERINGS = (
    ("ping", "host", "bridge", "the bridge path is the host path plus two veth hops and a bridge"),
    ("tcp", "published, DNAT", "published, docker-proxy",
     "docker-proxy is the same way in plus a process that copies every byte"),
    ("ping", "overlay, one host", "overlay, two hosts",
     "across hosts adds VXLAN and the underlay to the same overlay"),
)
#: (A, B, why): throughput orderings, "A is not above B".
THROUGHPUT_ORDERINGS = (
    ("bridge", "host", "two veth hops and a bridge do work that loopback does not"),
    ("published, docker-proxy", "published, DNAT",
     "docker-proxy copies every byte through a process of its own, on the same way in"),
)
ROUTED = "routed"
WHY_HINTS = {
    "b": "DNAT rewrites only a connection's first packet's rule lookup; conntrack does the rest "
         "in the kernel. What does docker-proxy do with the bytes?",
    "c": "Nothing is encrypted on either path. Look at section 1's table: what does each path "
         "go through?",
    "d": "The DNAT path also starts at the host; compare where the bytes are copied.",
}
WHY_RIGHT = "a"


def paths_built(paths) -> pd.DataFrame:
    """Section 1: the host, bridge and DNAT paths are built on every Linux engine; the rest
    are built or say why not."""
    usable = {p.name for p in paths if p.usable}
    missing = {"host", "bridge", "published, DNAT"} - usable
    if missing:
        fail(f"these paths work on every Linux engine but were not built: {sorted(missing)}")
    silent = [p.name for p in paths if not p.usable and not p.why_not]
    if silent:
        fail(f"paths not built without a reason: {silent}")
    return perf.paths_frame(paths)


def _judge(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["ordering", "because", "verdict", "rule"])
    failed = table[table["verdict"] == "fails"]
    if not failed.empty:
        fail("an ordering that holds on any machine failed here, with tight samples:\n"
             + failed.to_string(index=False))
    return table


def latency_orderings(latency: pd.DataFrame) -> pd.DataFrame:
    """Section 2: the latency orderings of :data:`LATENCY_ORDERINGS`, judged by the rule."""
    rows = []
    measured = set(latency["path"])
    for probe, a, b, because in LATENCY_ORDERINGS:
        label = f"{probe}: {a} ≤ {b}"
        if not {a, b} <= measured:
            rows.append({"ordering": label, "because": because, "verdict": "not measured here",
                         "rule": "both paths are needed"})
            continue
        judged = perf.compare(perf.values(latency, a, probe), perf.values(latency, b, probe),
                              tolerance=LATENCY_TOLERANCE, slack=LATENCY_SLACK_MS, unit="ms")
        rows.append({"ordering": label, "because": because, "verdict": judged.verdict,
                     "rule": judged.rule})
    return _judge(rows)


def throughput_orderings(throughput: pd.DataFrame) -> pd.DataFrame:
    """Section 3: the throughput orderings of :data:`THROUGHPUT_ORDERINGS`, by the rule."""
    rows = []
    measured = set(throughput["path"])
    for a, b, because in THROUGHPUT_ORDERINGS:
        label = f"throughput: {a} ≤ {b}"
        if not {a, b} <= measured:
            rows.append({"ordering": label, "because": because, "verdict": "not measured here",
                         "rule": "both paths are needed"})
            continue
        judged = perf.compare(perf.values(throughput, a), perf.values(throughput, b),
                              tolerance=THROUGHPUT_TOLERANCE, unit="Gbit/s")
        rows.append({"ordering": label, "because": because, "verdict": judged.verdict,
                     "rule": judged.rule})
    return _judge(rows)


# -- exercises ---------------------------------------------------------------------------------


def why_proxy_slower(answer) -> CheckResult:
    """Exercise 1: why a round trip through docker-proxy takes longer than through DNAT."""
    wrong = choice(answer, WHY_HINTS, WHY_RIGHT, name="why")
    if wrong is not None:  # a failed CheckResult is falsy: test for None, not truth
        return wrong
    return CheckResult(True, praise="the proxy is a process in the way: two more "
                                             "sockets, and two more wake-ups per round trip")


def routed_compared(lab, routed, measured, judged) -> CheckResult:
    """Exercise 2: a path from ``cli-host`` to ``srv``'s own address (no NAT), measured beside
    the DNAT path, and "DNAT is not above routed" judged by the lesson's latency rule."""
    if not isinstance(routed, perf.Path):
        return CheckResult(False, "Make routed a perf.Path (section 1's table shows what one holds).")
    srv = lab.ip("srv", "perf-net")
    if routed.address != srv or routed.echo_port != perf.ECHO_PORT:
        return CheckResult(False, f"routed should aim at srv's own address on perf-net, and the "
                                  f"echo server's port inside it ({perf.ECHO_PORT}), not at "
                                  f"{routed.address}:{routed.echo_port}.")
    if not isinstance(measured, pd.DataFrame) or not {"path", "probe", "ms"} <= set(measured.columns):
        return CheckResult(False, "Store in measured what perf.measure_latency returns for both paths.")
    dnat, own = (perf.values(measured, name, "tcp") for name in ("published, DNAT", routed.name))
    if len(dnat) < 3 or len(own) < 3:
        return CheckResult(False, "measured needs TCP round trips of both paths: routed and "
                                  "'published, DNAT'.")
    expected = perf.compare(dnat, own, tolerance=LATENCY_TOLERANCE, slack=LATENCY_SLACK_MS, unit="ms")
    return verdict([(isinstance(judged, perf.Ordering),
                     "Store in judged what perf.compare returns (A: the DNAT path, B: routed)."),
                    (getattr(judged, "verdict", None) == expected.verdict,
                     "Judge with the lesson's latency rule: A is the DNAT path's TCP round trips, "
                     "B routed's, with the tolerance and slack of section 2.")],
                   praise=f"DNAT against no NAT at all: {expected.verdict} ({expected.rule})")
