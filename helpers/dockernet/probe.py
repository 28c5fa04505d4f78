"""curl, ping and name lookups from inside containers, with structured results.

Every probe runs under ``timeout`` inside the container, so a dropped packet
costs seconds, not a hung kernel. A :class:`ProbeResult` shows readably in a
notebook and can assert the lesson's claim: ``expect_success()`` raises if the
probe failed, ``expect_failure()`` raises if it worked.

>>> from dockernet import Lab
>>> lab = Lab("01-default-bridge", quiet=True)
>>> helloworld, box = lab.hello_server("helloworld"), lab.run("box")
>>> result = curl(box, f"http://{lab.ip('helloworld')}:8000")
>>> result.expect_success(contains="Hello Docker!").output
'Hello Docker!'
>>> curl(box, "http://helloworld:8000", timeout=1).expect_failure().ok
False

A probe keeps stdout and stderr apart as well as together: programs whose output
is parsed (``ip -j``) are read with :func:`read_json`, which parses stdout only and
reads a dump again when ``ip`` says the kernel's list changed while it dumped it.
"""

from __future__ import annotations

import html
import json
import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import docker
import pandas as pd

from .errors import ExpectationFailed, LabError
from .naming import display_name

TIMEOUT_EXIT = 124  # coreutils timeout's exit code when it had to stop the command
#: What iproute2 prints on stderr (exit code 0) when the kernel's list changed while it was
#: being dumped: on a busy host interfaces come and go, and the dump may miss some of them.
INCONSISTENT_DUMP = "Dump was interrupted"
#: How many times :func:`read_json` reads a torn or inconsistent dump before it gives up.
JSON_ATTEMPTS = 4
#: Seconds a server that accepted a connection gets, beyond curl's connect timeout, to answer.
RESPONSE_GRACE_S = 5
#: How many times a probe that should have failed but got through is run again. Whenever any
#: bridge network is created, Docker's iptables code re-inserts the FORWARD chain's jump to
#: DOCKER-ISOLATION-STAGE-1 (EnsureJumpRule: delete it, then insert it at the top). On a busy
#: shared daemon a packet between two bridges can slip through in that gap (measured on 20.10:
#: 3 of 90 probes while networks were being created); a real path never fails.
RECHECKS = 2


@dataclass
class ProbeResult:
    """The outcome of one command run inside a container.

    Attributes:
        source (str): the container it ran in (the learner's name for it).
        command (list): the command, as run.
        exit_code (int): 0 is success; 124 means the in-container timeout fired.
        output (str): stdout, then stderr, stripped: what a learner reads.
        elapsed (float): seconds, measured around the exec call.
        stdout (str): stdout alone, stripped: what a parser reads.
        stderr (str): stderr alone, stripped: what an error message quotes.
        attempts (int): runs it took; more than 1 when :meth:`expect_failure` re-ran it.
        rerun (callable): runs the same command again, returning a new result.
    """

    source: str
    command: list = field(default_factory=list)
    exit_code: int = 0
    output: str = ""
    elapsed: float = 0.0
    stdout: str = ""
    stderr: str = ""
    attempts: int = 1
    rerun: Callable[[], "ProbeResult"] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    @property
    def timed_out(self) -> bool:
        """True when the in-container timeout stopped the command."""
        return self.exit_code == TIMEOUT_EXIT

    def expect_success(self, contains: str | None = None) -> "ProbeResult":
        """Raise :class:`ExpectationFailed` unless it worked (and printed ``contains``)."""
        if not self.ok:
            raise ExpectationFailed(f"expected success, but {self._describe()} failed "
                                    f"(exit {self.exit_code}): {self.output[:300]}")
        if contains is not None and contains not in self.output:
            raise ExpectationFailed(f"{self._describe()} worked but did not print {contains!r}; "
                                    f"it printed {self.output[:300]!r}")
        return self

    def expect_failure(self, rechecks: int = RECHECKS) -> "ProbeResult":
        """Raise :class:`ExpectationFailed` if it worked: the lesson said it would not.

        A probe that got through is run again, ``rechecks`` times at most, and the claim
        holds as soon as one run fails: on a busy daemon a packet can slip between two
        bridges while Docker re-inserts its isolation rules (see :data:`RECHECKS`), but
        a path that really exists gets through every time.

        Returns:
            ProbeResult: the failed run (``attempts`` says which it was).
        """
        result = self
        while result.ok and result.rerun is not None and result.attempts <= rechecks:
            time.sleep(0.2)
            result = replace(result.rerun(), attempts=result.attempts + 1)
        if result.ok:
            tries = f" {result.attempts} times in a row" if result.attempts > 1 else ""
            raise ExpectationFailed(f"expected {self._describe()} to fail, but it worked"
                                    f"{tries}: {result.output[:300]!r}")
        return result

    def _describe(self) -> str:
        return f"`{shlex.join(self.command)}` in {self.source}"

    def __str__(self) -> str:
        mark = "ok" if self.ok else ("timed out" if self.timed_out else f"failed (exit {self.exit_code})")
        return (f"[{self.source}]$ {shlex.join(self.command)}\n{self.output}\n"
                f"-> {mark} in {self.elapsed:.2f} s{self._try_note()}")

    def _try_note(self) -> str:
        return f" (try {self.attempts}: an earlier one slipped through)" if self.attempts > 1 else ""

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.ok else "#b42318"
        status = "ok" if self.ok else ("timed out" if self.timed_out else f"exit {self.exit_code}")
        return (f"<div style='font-family:monospace'><b>[{html.escape(self.source)}]$</b> "
                f"{html.escape(shlex.join(self.command))}<pre style='margin:2px 0'>"
                f"{html.escape(self.output)}</pre><span style='color:{colour}'>&#9679; {status}"
                f"</span> <small>{self.elapsed:.2f} s{html.escape(self._try_note())}</small></div>")


def _source_name(container) -> str:
    return display_name(container.labels, container.name)


def _last_logs(container) -> str:
    try:
        return container.logs(tail=5).decode(errors="replace").strip()
    except docker.errors.APIError:
        return ""


def run(container, command, timeout: float = 10) -> ProbeResult:
    """Run ``command`` (list or shell string) inside ``container`` under ``timeout``.

    Args:
        container: a docker SDK Container.
        command (list or str): a string runs through ``sh -c``.
        timeout (float): seconds, enforced inside the container.
    """
    argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
    wrapped = ["timeout", "-k", "1", f"{timeout:g}", *argv]
    start = time.perf_counter()
    try:
        # Demultiplexed: a parser must never see stderr's warnings inside stdout's JSON.
        exit_code, (stdout, stderr) = container.exec_run(wrapped, demux=True)
    except docker.errors.APIError as exc:  # typically: the container is not running
        logs = _last_logs(container)
        raise LabError(f"cannot run a command in {_source_name(container)!r}: "
                       f"{exc.explanation or exc}. Re-run the cell that starts it"
                       + (f"; its last log lines:\n{logs}" if logs else ".")) from None
    elapsed = time.perf_counter() - start
    stdout, stderr = ((data or b"").decode(errors="replace").strip() for data in (stdout, stderr))
    text = "\n".join(part for part in (stdout, stderr) if part)
    return ProbeResult(_source_name(container), argv, exit_code, text, elapsed, stdout, stderr,
                       rerun=lambda: run(container, command, timeout=timeout))


def heard(result: ProbeResult, attempts: int = 3) -> ProbeResult:
    """``result``, or a re-run of its command when nothing at all came back.

    For commands that always print something (``curl -sS``, ``readlink``, ``hostname``,
    an error message). A busy Docker 28.5 loses the output of about one ``docker exec``
    in 300 whose process ends at once (measured with 6 learners at once); a re-run
    prints it. Only for commands that change nothing: the command runs again.

    >>> calls = []
    >>> silent = ProbeResult("box", rerun=lambda: calls.append(1) or ProbeResult("box", stdout="x"))
    >>> heard(silent).stdout, len(calls)
    ('x', 1)
    """
    while not (result.stdout or result.stderr) and result.rerun is not None and attempts > 1:
        result, attempts = result.rerun(), attempts - 1
    return result


def parse_json(result: ProbeResult):
    """The JSON a probe printed on stdout, or ``None`` when stdout is not (whole) JSON.

    Empty stdout reads as ``[]``: ``ip -j`` prints nothing when nothing matches.

    >>> parse_json(ProbeResult("host-view", stdout='[{"ifname": "docker0"}]',
    ...                        stderr="Dump was interrupted and may be inconsistent."))
    [{'ifname': 'docker0'}]
    >>> parse_json(ProbeResult("host-view", stdout='[{"ifname": "doc')) is None
    True
    """
    try:
        return json.loads(result.stdout or "[]")
    except ValueError:
        return None


def is_torn(result: ProbeResult) -> bool:
    """True when the output is worth reading again: torn JSON, or a dump ``ip`` calls inconsistent.

    >>> is_torn(ProbeResult("host-view", stdout="[]", stderr="Dump was interrupted and may "
    ...                     "be inconsistent."))
    True
    >>> is_torn(ProbeResult("host-view", stdout="[]"))
    False
    """
    return result.ok and (INCONSISTENT_DUMP in result.stderr or parse_json(result) is None)


def read_json(container, command, *, what: str, timeout: float = 5,
              attempts: int = JSON_ATTEMPTS, hint: str = ""):
    """Run ``command`` in ``container`` and parse its stdout as JSON.

    A dump that interfaces coming and going tore (stdout is not whole JSON) or that
    ``ip`` calls inconsistent is read again, ``attempts`` times at most; the last
    whole answer is used even if ``ip`` still calls it inconsistent.

    Args:
        container: a docker SDK Container.
        command (list or str): as for :func:`run`.
        what (str): what is read, for the error message (e.g. ``"the host's interfaces"``).
        timeout (float): seconds per attempt, enforced inside the container.
        attempts (int): reads at most.
        hint (str): what the learner can do, appended to the error message.

    Returns:
        The parsed JSON (``[]`` for empty output).

    Raises:
        LabError: the command failed (the message quotes its stderr), or no attempt
            printed whole JSON.

    >>> read_json(lab.run("box"), ["ip", "-j", "link", "show", "lo"], what="lo")[0]["ifname"]
    'lo'
    """
    for attempt in range(1, attempts + 1):
        # Empty can be a true answer (nothing matched) or lost output: one more look.
        result = heard(run(container, command, timeout=timeout), attempts=2)
        if not result.ok:
            raise LabError(f"reading {what} failed (exit {result.exit_code}): "
                           f"{(result.stderr or result.output)[:300]}" + (f". {hint}" if hint else ""))
        parsed = parse_json(result)
        if not is_torn(result) or (parsed is not None and attempt == attempts):
            return parsed
        time.sleep(0.05 * attempt)  # let the interfaces that were coming and going settle
    raise LabError(f"reading {what}: {attempts} attempts printed no whole JSON (the last "
                   f"began {result.stdout[:80]!r}; stderr: {result.stderr[:200]!r})"
                   + (f". {hint}" if hint else ""))


def curl(container, url: str, timeout: float = 3) -> ProbeResult:
    """``curl -sS URL`` from inside ``container``.

    ``timeout`` bounds the connection (the name lookup included): a dropped packet or
    a name nobody knows fails within it. A server that accepted the connection gets
    :data:`RESPONSE_GRACE_S` more to answer: on a busy host (a classroom on two cores)
    a reachable server may answer seconds late, and that must not read as unreachable.
    """
    max_time = timeout + RESPONSE_GRACE_S
    # -sS prints the body or the error: an empty result is output Docker lost (see heard).
    return heard(run(container, ["curl", "-sS", "--connect-timeout", f"{timeout:g}",
                                 "--max-time", f"{max_time:g}", url], timeout=max_time + 1))


def ping(container, target: str, count: int = 1, timeout: float = 2) -> ProbeResult:
    """``ping -c COUNT TARGET`` from inside ``container``."""
    return run(container, ["ping", "-c", str(count), "-W", f"{max(int(timeout), 1)}", target],
               timeout=timeout * count + 1)


def lookup(container, name: str, timeout: float = 3) -> ProbeResult:
    """Resolve ``name`` as programs in the container do (/etc/hosts, then DNS)."""
    result = run(container, ["getent", "hosts", name], timeout=timeout)
    # getent fails silently (exit 2) but never succeeds silently: that output was lost.
    return heard(result) if result.ok else result


def dig(container, name: str, server: str | None = None, timeout: float = 3) -> ProbeResult:
    """Ask a DNS server directly (default: the container's resolv.conf server), once.

    The one try may take ``timeout`` seconds: a busy dockerd answers late, not never.
    """
    argv = ["dig", "+short", f"+time={max(1, int(timeout))}", "+tries=1", name]
    if server:
        argv.insert(1, f"@{server}")
    return run(container, argv, timeout=timeout + 1)


def reachability(lab, sources, targets=None, *, port=None, network=None, by="ip",
                 timeout: float = 2, workers: int = 8) -> pd.DataFrame:
    """A from x to table of booleans: can each source reach each target?

    With ``port`` each cell is a curl to that port, else a ping. ``by="ip"``
    uses the target's address (on ``network``, or its first network);
    ``by="name"`` uses the learner's short name, which tests DNS too. Probes run
    ``workers`` at a time, so a matrix full of dropped packets costs about one
    timeout per ``workers`` cells instead of one per cell. A pair counts as
    reachable when its probe gets through twice in a row: one lucky packet
    between two bridges is Docker re-inserting its rules (see :data:`RECHECKS`).
    """
    if by not in ("ip", "name"):
        raise ValueError(f"by={by!r}: use 'ip' or 'name'.")
    sources = list(sources)
    targets = list(sources) if targets is None else list(targets)
    containers = {name: lab.get_container(name) for name in {*sources}}
    addresses = {target: target if by == "name" else _address_of(lab, target, network)
                 for target in targets}

    def probe_pair(pair) -> bool:
        source, target = pair
        address = addresses[target]
        if address is None:  # not on that network: nothing to reach
            return False
        if port is None:
            result = ping(containers[source], address, timeout=timeout)
        else:
            result = curl(containers[source], f"http://{address}:{port}/", timeout=timeout)
        return result.ok and result.rerun().ok

    pairs = [(source, target) for source in sources for target in targets]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs)))) as pool:
        outcomes = dict(zip(pairs, pool.map(probe_pair, pairs)))
    table = pd.DataFrame([[outcomes[(s, t)] for t in targets] for s in sources],
                         index=pd.Index(sources, name="from"), columns=pd.Index(targets, name="to"))
    return table


def _address_of(lab, target, network):
    container = lab.get_container(target)
    container.reload()
    networks = container.attrs["NetworkSettings"]["Networks"] or {}
    if network is not None:
        endpoint = networks.get(lab.get_network(network).name)
    else:
        endpoint = next(iter(networks.values()), None)
    return (endpoint or {}).get("IPAddress") or None
