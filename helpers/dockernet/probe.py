"""curl, ping and name lookups from inside containers, with structured results.

Every probe runs under ``timeout`` inside the container, so a dropped packet
costs seconds, not a hung kernel. A :class:`ProbeResult` shows readably in a
notebook and can assert the lesson's claim: ``expect_success()`` raises if the
probe failed, ``expect_failure()`` raises if it worked.

>>> result = curl(helloworld, "http://172.17.0.3:8000")     # doctest: +SKIP
>>> result.expect_success(contains="Hello Docker!").output    # doctest: +SKIP
'Hello Docker!'
"""

from __future__ import annotations

import html
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import docker
import pandas as pd

from .errors import ExpectationFailed, LabError
from .naming import display_name

TIMEOUT_EXIT = 124  # coreutils timeout's exit code when it had to stop the command


@dataclass
class ProbeResult:
    """The outcome of one command run inside a container.

    Attributes:
        source (str): the container it ran in (the learner's name for it).
        command (list): the command, as run.
        exit_code (int): 0 is success; 124 means the in-container timeout fired.
        output (str): stdout and stderr, stripped.
        elapsed (float): seconds, measured around the exec call.
    """

    source: str
    command: list = field(default_factory=list)
    exit_code: int = 0
    output: str = ""
    elapsed: float = 0.0

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

    def expect_failure(self) -> "ProbeResult":
        """Raise :class:`ExpectationFailed` if it worked: the lesson said it would not."""
        if self.ok:
            raise ExpectationFailed(f"expected {self._describe()} to fail, but it worked: "
                                    f"{self.output[:300]!r}")
        return self

    def _describe(self) -> str:
        return f"`{shlex.join(self.command)}` in {self.source}"

    def __str__(self) -> str:
        mark = "ok" if self.ok else ("timed out" if self.timed_out else f"failed (exit {self.exit_code})")
        return (f"[{self.source}]$ {shlex.join(self.command)}\n{self.output}\n"
                f"-> {mark} in {self.elapsed:.2f} s")

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.ok else "#b42318"
        status = "ok" if self.ok else ("timed out" if self.timed_out else f"exit {self.exit_code}")
        return (f"<div style='font-family:monospace'><b>[{html.escape(self.source)}]$</b> "
                f"{html.escape(shlex.join(self.command))}<pre style='margin:2px 0'>"
                f"{html.escape(self.output)}</pre><span style='color:{colour}'>&#9679; {status}"
                f"</span> <small>{self.elapsed:.2f} s</small></div>")


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
        exit_code, output = container.exec_run(wrapped, demux=False)
    except docker.errors.APIError as exc:  # typically: the container is not running
        logs = _last_logs(container)
        raise LabError(f"cannot run a command in {_source_name(container)!r}: "
                       f"{exc.explanation or exc}. Re-run the cell that starts it"
                       + (f"; its last log lines:\n{logs}" if logs else ".")) from None
    elapsed = time.perf_counter() - start
    text = (output or b"").decode(errors="replace").strip()
    return ProbeResult(_source_name(container), argv, exit_code, text, elapsed)


def curl(container, url: str, timeout: float = 3) -> ProbeResult:
    """``curl -sS URL`` from inside ``container``."""
    return run(container, ["curl", "-sS", "--max-time", f"{timeout:g}", url], timeout=timeout + 1)


def ping(container, target: str, count: int = 1, timeout: float = 2) -> ProbeResult:
    """``ping -c COUNT TARGET`` from inside ``container``."""
    return run(container, ["ping", "-c", str(count), "-W", f"{max(int(timeout), 1)}", target],
               timeout=timeout * count + 1)


def lookup(container, name: str, timeout: float = 3) -> ProbeResult:
    """Resolve ``name`` as programs in the container do (/etc/hosts, then DNS)."""
    return run(container, ["getent", "hosts", name], timeout=timeout)


def dig(container, name: str, server: str | None = None, timeout: float = 3) -> ProbeResult:
    """Ask a DNS server directly (default: the container's resolv.conf server)."""
    argv = ["dig", "+short", "+time=1", "+tries=1", name]
    if server:
        argv.insert(1, f"@{server}")
    return run(container, argv, timeout=timeout)


def reachability(lab, sources, targets=None, *, port=None, network=None, by="ip",
                 timeout: float = 2, workers: int = 8) -> pd.DataFrame:
    """A from x to table of booleans: can each source reach each target?

    With ``port`` each cell is a curl to that port, else a ping. ``by="ip"``
    uses the target's address (on ``network``, or its first network);
    ``by="name"`` uses the learner's short name, which tests DNS too. Probes run
    ``workers`` at a time, so a matrix full of dropped packets costs about one
    timeout per ``workers`` cells instead of one per cell.
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
            return ping(containers[source], address, timeout=timeout).ok
        return curl(containers[source], f"http://{address}:{port}/", timeout=timeout).ok

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
