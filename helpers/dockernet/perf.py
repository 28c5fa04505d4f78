"""Measuring a network path: ping, TCP round trips and iperf3, repeated and bounded in time.

A :class:`Path` is a client and a server with the way between them: where the client's
commands run (a lab container, or one on a simulated host), and the address and ports it
aims at. Each server runs :func:`server_command`: ``iperf3 -s`` and a small TCP echo
server in python3 (:data:`ECHO_SERVER`), both in the lab image. Three probes run in the
client, each under an in-container ``timeout``:

- **ping**: ``ping -c N -i 0.01``; every reply's round trip, in ms (:func:`parse_ping`);
- **TCP round trips**: :data:`ECHO_CLIENT` opens one connection (``TCP_NODELAY``) and
  times N one-byte request/answer pairs with ``perf_counter_ns``, in ms
  (:func:`parse_round_trips`): connection setup is left out, so the path itself is timed;
- **throughput**: ``iperf3 -c ... -t SECONDS -i 0.2 -J --connect-timeout``: the 0.2 s
  interval figures of each run, in Gbit/s (:func:`parse_iperf`).

Measurements go round by round, every path in each round (:func:`measure_latency`,
:func:`measure_throughput`), so that a burst of load on a shared machine falls on all
paths alike instead of on one. Orderings between two paths are judged by one stated rule,
:func:`compare`: medians with a tolerance and an absolute slack, and "too noisy to judge"
(not a failure) when a sample's spread is wider than :data:`NOISE_LIMIT`.

>>> parse_ping("64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.061 ms")
[0.061]
>>> compare([0.05, 0.06, 0.05], [0.07, 0.08, 0.07], tolerance=0.5, slack=0.01).verdict
'holds'
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .errors import LabError
from .probe import ProbeResult

#: Container-side ports of every lab perf server (host networking takes per-learner ports).
IPERF_PORT, ECHO_PORT = 5201, 7007
#: A sample whose interquartile range is wider than this fraction of its median is too
#: noisy to judge an ordering with: the check says so instead of failing.
NOISE_LIMIT = 0.75
#: Defaults, sized so that the whole lesson stays under 90 s on a shared 2-core machine.
PINGS, TRIPS, LATENCY_ROUNDS = 20, 100, 3
IPERF_SECONDS, IPERF_INTERVAL, THROUGHPUT_ROUNDS = 1, 0.2, 2

#: The echo server: one thread per connection, answering each chunk with itself.
ECHO_SERVER = """
import socket, sys, threading
def serve(conn):
    with conn:
        while True:
            data = conn.recv(64)
            if not data:
                return
            conn.sendall(data)
listener = socket.create_server(("0.0.0.0", int(sys.argv[1])), backlog=64, reuse_port=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""
#: The echo client: HOST PORT COUNT; prints one JSON list of round trips in milliseconds.
ECHO_CLIENT = """
import json, socket, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with socket.create_connection((host, port), timeout=3) as conn:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    trips = []
    for i in range(count + 5):
        begun = time.perf_counter_ns()
        conn.sendall(b"x")
        if conn.recv(64) != b"x":
            sys.exit("the echo server answered something else")
        trips.append((time.perf_counter_ns() - begun) / 1e6)
print(json.dumps(trips[5:]))
"""

_PING_TIME = re.compile(r"time[=<]([\d.]+) ms")


def server_command(iperf_port: int = IPERF_PORT, echo_port: int = ECHO_PORT) -> list[str]:
    """The command of a perf server container: ``iperf3 -s`` and the echo server.

    >>> server_command(20001, 20002)[2][:40]
    'iperf3 -s -p 20001 --idle-timeout 30 & e'
    """
    return ["sh", "-c", f"iperf3 -s -p {iperf_port} --idle-timeout 30 & "
                        f'exec python3 -c "$ECHO_SERVER" {echo_port}']


# -- parsing (pure) -------------------------------------------------------------------------------


def parse_ping(text: str) -> list[float]:
    """Every reply's round trip (ms) in ``ping``'s output; lost packets have none.

    >>> parse_ping("64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.032 ms\\n"
    ...            "64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=1.05 ms\\n"
    ...            "rtt min/avg/max/mdev = 0.032/0.541/1.050/0.509 ms")
    [0.032, 1.05]
    """
    return [float(found) for found in _PING_TIME.findall(text)]


def parse_round_trips(text: str) -> list[float]:
    """The echo client's round trips (ms): the last line of its output, a JSON list.

    >>> parse_round_trips("[0.051, 0.049]")
    [0.051, 0.049]

    Raises:
        LabError: the output holds no such list (the client failed: its output is quoted).
    """
    lines = [line for line in text.strip().splitlines() if line.startswith("[")]
    try:
        trips = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise LabError(f"the TCP round-trip client printed no measurements: {text[-300:]!r}") from None
    return [float(trip) for trip in trips]


def parse_iperf(text: str) -> dict:
    """An ``iperf3 -J`` client report: the run's receiver figure and each interval's (Gbit/s).

    >>> report = {"intervals": [{"sum": {"bits_per_second": 2e9, "omitted": False}}],
    ...           "end": {"sum_received": {"bits_per_second": 1.5e9, "seconds": 1.0}}}
    >>> parse_iperf(json.dumps(report))
    {'gbit_s': 1.5, 'intervals': [2.0], 'seconds': 1.0}

    Raises:
        LabError: not a report, or iperf3's own error (``{"error": ...}``), quoted.
    """
    try:
        report = json.loads(text)
    except ValueError:
        raise LabError(f"iperf3 printed no JSON report: {text[-300:]!r}") from None
    if report.get("error"):
        raise LabError(f"iperf3: {report['error']}")
    received = (report.get("end") or {}).get("sum_received") or {}
    intervals = [i["sum"]["bits_per_second"] / 1e9 for i in report.get("intervals") or []
                 if not i["sum"].get("omitted")]
    return {"gbit_s": received.get("bits_per_second", 0.0) / 1e9, "intervals": intervals,
            "seconds": received.get("seconds", 0.0)}


# -- the rule for orderings (pure) ---------------------------------------------------------------


@dataclass
class Ordering:
    """One ordering judged by :func:`compare`: ``verdict`` is ``holds``, ``too noisy to
    judge`` or ``fails``; ``rule`` says the rule with its numbers."""

    verdict: str
    median_a: float
    median_b: float
    spread_a: float
    spread_b: float
    rule: str


def spread(samples) -> float:
    """The interquartile range over the median: 0 for a tight sample, above 1 for a wild one.

    >>> spread([1.0, 1.0, 1.0, 1.0])
    0.0
    >>> round(spread([1, 2, 3, 4, 5]), 2)
    0.67
    """
    values = sorted(samples)
    if len(values) < 2:
        return float("inf")
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    middle = statistics.median(values)
    return (q3 - q1) / middle if middle else float("inf")


def compare(a, b, *, tolerance: float, slack: float = 0.0, noise_limit: float = NOISE_LIMIT,
            minimum: int = 3, unit: str = "") -> Ordering:
    """Judge "A is not above B" (A's median ≤ B's median × (1 + tolerance) + slack).

    Reversed (A above B by more than that) counts as a failure only when both samples are
    tight (:func:`spread` ≤ ``noise_limit``, at least ``minimum`` values); otherwise the
    measurement was too noisy to judge, and the verdict says so.

    >>> compare([1, 1, 1], [2, 2, 2], tolerance=0.2).verdict
    'holds'
    >>> compare([3, 3, 3], [2, 2, 2], tolerance=0.2).verdict
    'fails'
    >>> compare([3, 9, 1, 30], [2, 2, 2], tolerance=0.2).verdict
    'too noisy to judge'
    """
    a, b = list(a), list(b)
    if len(a) < minimum or len(b) < minimum:
        return Ordering("too noisy to judge", float("nan"), float("nan"), float("inf"),
                        float("inf"), f"fewer than {minimum} values to compare")
    median_a, median_b = statistics.median(a), statistics.median(b)
    spread_a, spread_b = spread(a), spread(b)
    bound = median_b * (1 + tolerance) + slack
    rule = (f"median A {median_a:.3g} ≤ median B {median_b:.3g} × {1 + tolerance:g}"
            + (f" + {slack:g}" if slack else "") + f" = {bound:.3g}" + (f" {unit}" if unit else ""))
    if median_a <= bound:
        return Ordering("holds", median_a, median_b, spread_a, spread_b, rule)
    if max(spread_a, spread_b) > noise_limit:
        return Ordering("too noisy to judge", median_a, median_b, spread_a, spread_b,
                        rule.replace("≤", "is not ≤") + f", and a spread is over {noise_limit:g}")
    return Ordering("fails", median_a, median_b, spread_a, spread_b, rule.replace("≤", "is not ≤"))


# -- paths and measurements ----------------------------------------------------------------------


@dataclass
class Path:
    """One way between a client and a server, and how to measure over it.

    Attributes:
        name (str): the path's label in tables and plots, e.g. ``"bridge"``.
        how (str): what the packets go through, in a few words.
        run (callable): runs an argv in the client, with a timeout (s), returning a
            :class:`~dockernet.probe.ProbeResult`; ``None`` where the path cannot be built.
        ping_target (str): the address ping aims at, or ``None`` (a published port carries
            TCP, not ICMP).
        address (str): the address TCP probes aim at.
        echo_port (int), iperf_port (int): the ports the server's echo and iperf3 listen on,
            as the client sees them.
        why_not (str): why the path cannot be built here (then nothing is measured).
    """

    name: str
    how: str
    run: Callable[..., ProbeResult] | None = None
    ping_target: str | None = None
    address: str = ""
    echo_port: int = ECHO_PORT
    iperf_port: int = IPERF_PORT
    why_not: str = ""

    @property
    def usable(self) -> bool:
        """True when the path was built and can be measured."""
        return self.run is not None and not self.why_not


def container_runner(container) -> Callable[..., ProbeResult]:
    """A :attr:`Path.run` for a lab container (``docker exec CONTAINER ...``)."""
    from . import probe

    return lambda argv, timeout: probe.run(container, argv, timeout=timeout)


def paths_frame(paths) -> pd.DataFrame:
    """The paths as a table: what each goes through, its target, and whether it runs here."""
    rows = [{"path": p.name, "through": p.how,
             "target": f"{p.address}:{p.echo_port} (echo), :{p.iperf_port} (iperf3)" if p.usable else "",
             "ping": (p.ping_target or "no: TCP only") if p.usable else "",
             "measured here": "yes" if p.usable else f"no: {p.why_not}"} for p in paths]
    return pd.DataFrame(rows)


def ping_once(path: Path, count: int = PINGS) -> list[float]:
    """One round of ping over ``path``: every reply's round trip, in ms (bounded: ~2 s)."""
    result = path.run(["ping", "-n", "-c", str(count), "-i", "0.01", "-W", "1", path.ping_target],
                      timeout=2 + count * 0.05)
    return parse_ping(result.stdout)


def round_trips_once(path: Path, count: int = TRIPS) -> list[float]:
    """One round of TCP round trips over ``path`` (one connection), in ms."""
    argv = ["python3", "-c", ECHO_CLIENT, path.address, str(path.echo_port), str(count)]
    result = path.run(argv, timeout=5 + count * 0.02)
    if not result.ok:
        raise LabError(f"TCP round trips over {path.name} failed: {result.output[-300:]}")
    return parse_round_trips(result.stdout)


def throughput_once(path: Path, seconds: int = IPERF_SECONDS) -> dict:
    """One iperf3 run over ``path``, ``seconds`` long (bounded by ``timeout`` as well)."""
    argv = ["iperf3", "-c", path.address, "-p", str(path.iperf_port), "-t", str(int(seconds)),
            "-i", str(IPERF_INTERVAL), "-J", "--connect-timeout", "3000"]
    result = path.run(argv, timeout=seconds + 8)
    return parse_iperf(result.stdout or result.output)


def latency_once(path: Path, pings: int = PINGS, trips: int = TRIPS) -> tuple[list, list]:
    """One round over ``path``: ping, then TCP round trips, in one ``docker exec`` (on a busy
    daemon each exec costs more than the probes): ``(ping ms, tcp ms)``."""
    script = ('[ -n "$1" ] && ping -n -c "$2" -i 0.01 -W 1 "$1"; echo "@@ tcp"; '
              'exec python3 -c "$3" "$4" "$5" "$6"')
    argv = ["sh", "-c", script, "sh", path.ping_target or "", str(pings), ECHO_CLIENT,
            path.address, str(path.echo_port), str(trips)]
    result = path.run(argv, timeout=7 + pings * 0.05 + trips * 0.02)
    before, _, after = result.stdout.partition("@@ tcp")
    if not result.ok:
        raise LabError(f"TCP round trips over {path.name} failed: {result.output[-300:]}")
    return parse_ping(before), parse_round_trips(after)


def measure_latency(paths, rounds: int = LATENCY_ROUNDS, pings: int = PINGS,
                    trips: int = TRIPS) -> pd.DataFrame:
    """Ping and TCP round trips over every usable path, ``rounds`` times, path after path.

    Returns:
        pandas.DataFrame: one row per value: ``path``, ``round``, ``probe`` (``ping`` or
        ``tcp``), ``ms``. A path whose server did not answer in a round gets no rows then.
    """
    rows, failures = [], []
    for round_ in range(1, rounds + 1):
        for path in (p for p in paths if p.usable):
            try:
                ping_ms, tcp_ms = latency_once(path, pings, trips)
                rows += [(path.name, round_, "ping", ms) for ms in ping_ms]
                rows += [(path.name, round_, "tcp", ms) for ms in tcp_ms]
            except LabError as exc:
                failures.append(_failed(path, round_, exc))
    return _frame(rows, ["path", "round", "probe", "ms"], failures)


def _failed(path: Path, round_: int, exc: Exception) -> str:
    # A run that fails on a busy machine leaves its path with fewer values, said out loud:
    # compare() then judges with what there is, or says it is too little.
    line = f"(round {round_} over {path.name} gave no values: {exc})"
    print(line)
    return line


def _frame(rows, columns, failures) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["failures"] = failures
    return frame


def measure_throughput(paths, rounds: int = THROUGHPUT_ROUNDS,
                       seconds: int = IPERF_SECONDS) -> pd.DataFrame:
    """iperf3 over every usable path, ``rounds`` runs each, path after path.

    Each run lasts ``seconds`` (whole seconds: iperf3 reads ``-t 0`` as "for ever"), so a
    classroom of 30 learners never loads the machine for longer than that at a time.

    Returns:
        pandas.DataFrame: ``path``, ``round``, ``interval`` (0.2 s each), ``gbit_s``.
    """
    if int(seconds) < 1:
        raise LabError("iperf3 runs last whole seconds, at least 1 (it reads -t 0 as 'for ever').")
    rows, failures = [], []
    for round_ in range(1, rounds + 1):
        for path in (p for p in paths if p.usable):
            try:
                report = throughput_once(path, seconds)
            except LabError as exc:
                failures.append(_failed(path, round_, exc))
                continue
            rows += [(path.name, round_, i, value) for i, value in enumerate(report["intervals"], 1)]
    return _frame(rows, ["path", "round", "interval", "gbit_s"], failures)


def values(frame: pd.DataFrame, path: str, probe: str | None = None) -> list[float]:
    """One path's values in a measurement frame (``ms`` of one probe, or ``gbit_s``).

    >>> frame = pd.DataFrame({"path": ["a", "a", "b"], "probe": ["tcp", "ping", "tcp"],
    ...                       "ms": [0.1, 0.2, 0.3]})
    >>> values(frame, "a", "tcp")
    [0.1]
    """
    chosen = frame["path"] == path
    if probe is not None:
        chosen &= frame["probe"] == probe
    return frame.loc[chosen, "ms" if "ms" in frame.columns else "gbit_s"].tolist()


def summary(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per path (and probe): how many values, median, quartiles and :func:`spread`."""
    keys = [k for k in ("probe", "path") if k in frame.columns]
    grouped = frame.groupby(keys, sort=False)[value]
    table = grouped.agg(n="count", median="median",
                        q1=lambda s: s.quantile(0.25), q3=lambda s: s.quantile(0.75))
    table["spread"] = grouped.agg(spread).round(2)
    return table.round(4)
