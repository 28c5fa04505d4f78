"""Network namespaces of lab containers: what each one holds, and which ones share one.

A container started with ``--network none`` gets a network namespace of its own that
holds only ``lo``. One started with ``--network container:X`` gets none of its own: it
joins X's, so both see the same interfaces, the same addresses and the same
``localhost``. This module reads that from inside the containers:

- :func:`interfaces`: every interface of some containers, from ``ip -j addr`` run in
  each, with the namespace each one is in (``readlink /proc/1/ns/net``);
- :func:`shares_network_namespace` and :func:`compare`: which namespaces two containers
  share;
- :func:`sidecar`, :func:`capture` and :func:`restart`: a tools container joined to
  another one, a packet capture from it, and a restart that waits until the container
  is back.

Two layers, as in :mod:`dockernet.tables`: pure parsers (unit tested on captured
output) and lab functions that read live state.

>>> import dockernet as dn
>>> from dockernet import namespaces
>>> lab = dn.Lab("06-none-and-container", quiet=True)
>>> _ = lab.run("app"), lab.run("loner", network="none")
>>> _ = namespaces.sidecar(lab, "debug", "app")
>>> table = namespaces.interfaces(lab, ["loner", "app", "debug"])
>>> table[table.container == "loner"].interface.tolist()
['lo']
>>> namespaces.shares_network_namespace(lab, "app", "debug")
True
>>> namespaces.shares_network_namespace(lab, "app", "loner")
False
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable

import pandas as pd

from . import probe
from .errors import LabError

#: Where a container's namespaces are read: its first process (the lab's ``--init``),
#: which every later process of the container shares them with.
NAMESPACE_LINK = "/proc/1/ns/{kind}"
#: The namespaces :func:`compare` reads, and what each one holds, in a learner's words.
NAMESPACE_KINDS = {
    "net": "interfaces, addresses, routes, ports, localhost",
    "pid": "the processes it can see (ps)",
    "mnt": "the files it sees",
    "uts": "the hostname",
    "ipc": "System V shared memory and message queues",
}
INTERFACE_COLUMNS = ["container", "netns", "interface", "state", "ipv4", "ipv6", "mac"]
#: Seconds :func:`restart` and :func:`capture` wait for a container or tcpdump to be ready.
READY_TIMEOUT_S = 30
#: A small palette for :func:`styled`: one colour per namespace, readable on white.
COLOURS = ("#dbeafe", "#dcfce7", "#fef3c7", "#fce7f3", "#e0e7ff", "#ccfbf1", "#fee2e2")
_LINK = re.compile(r"^(\w+):\[(\d+)\]$")


# -- pure: what the containers print -> rows ----------------------------------------------


def parse_namespace_link(text: str) -> str:
    """The namespace a ``readlink /proc/PID/ns/KIND`` printed, checked and stripped.

    The number is the namespace's inode: two processes are in the same namespace
    exactly when their links read the same.

    >>> parse_namespace_link("net:[4026532333]\\n")
    'net:[4026532333]'
    >>> parse_namespace_link("readlink: /proc/1/ns/net: Permission denied")
    Traceback (most recent call last):
    ...
    ValueError: not a namespace link: 'readlink: /proc/1/ns/net: Permission denied'
    """
    link = text.strip()
    if not _LINK.match(link):
        raise ValueError(f"not a namespace link: {link!r}")
    return link


def _addresses(addr_info: Iterable[dict], family: str) -> str:
    return ", ".join(f"{a['local']}/{a['prefixlen']}" for a in addr_info
                     if a.get("family") == family and a.get("local"))


def interface_rows(links: Iterable[dict], container: str, netns: str) -> list[dict]:
    """One row per interface, from ``ip -j addr`` run inside ``container``.

    Args:
        links: the parsed JSON of ``ip -j addr``.
        container (str): the learner's name for the container it ran in.
        netns (str): its network namespace (:func:`parse_namespace_link`).

    Returns:
        list of dict with the keys of :data:`INTERFACE_COLUMNS`; the interface is
        named as ``ip`` shows it (``eth0@if17``: index 17 is the other end of its veth).

    >>> links = [{"ifname": "lo", "operstate": "UNKNOWN", "address": "00:00:00:00:00:00",
    ...           "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
    ...          {"ifname": "eth0", "link_index": 17, "operstate": "UP",
    ...           "address": "02:42:ac:11:00:02",
    ...           "addr_info": [{"family": "inet", "local": "172.17.0.2", "prefixlen": 16}]}]
    >>> [(r["interface"], r["ipv4"]) for r in interface_rows(links, "app", "net:[1]")]
    [('lo', '127.0.0.1/8'), ('eth0@if17', '172.17.0.2/16')]
    """
    rows = []
    for link in links:
        name = link.get("ifname", "?")
        if link.get("link_index") is not None and name != "lo":
            name = f"{name}@if{link['link_index']}"
        info = link.get("addr_info") or []
        rows.append({"container": container, "netns": netns, "interface": name,
                     "state": link.get("operstate"), "ipv4": _addresses(info, "inet"),
                     "ipv6": _addresses(info, "inet6"),
                     "mac": "" if link.get("link_type") == "loopback" or name == "lo"
                     else link.get("address", "")})
    return rows


def interfaces_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame in :data:`INTERFACE_COLUMNS` order, grouped by namespace."""
    order = {netns: i for i, netns in enumerate(dict.fromkeys(r["netns"] for r in rows))}
    rows = sorted(rows, key=lambda r: (order[r["netns"]], r["container"], r["interface"] != "lo"))
    return pd.DataFrame(rows, columns=INTERFACE_COLUMNS)


def only_loopback(links: Iterable[dict]) -> bool:
    """True when ``ip -j addr`` lists nothing but ``lo``.

    >>> only_loopback([{"ifname": "lo"}]), only_loopback([{"ifname": "lo"}, {"ifname": "eth0"}])
    (True, False)
    """
    return [link.get("ifname") for link in links] == ["lo"]


# -- live: containers -> namespaces and tables ----------------------------------------------


def exec_heard(lab, container, command, timeout: float = 5) -> probe.ProbeResult:
    """``lab.exec`` for a command that always prints something (see :func:`dockernet.probe.heard`)."""
    return probe.heard(lab.exec(container, command, timeout=timeout))


def namespace_of(lab, container, kind: str = "net") -> str:
    """The namespace of kind ``kind`` a lab container is in, e.g. ``'net:[4026532333]'``.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        container (str): the learner's name for a running container.
        kind (str): one of :data:`NAMESPACE_KINDS`.

    Raises:
        LabError: an unknown kind, an unknown or stopped container.
    """
    if kind not in NAMESPACE_KINDS:
        raise LabError(f"namespace kind {kind!r}: use one of {', '.join(NAMESPACE_KINDS)}.")
    result = exec_heard(lab, container, ["readlink", NAMESPACE_LINK.format(kind=kind)])
    try:
        return parse_namespace_link(result.stdout)
    except ValueError:
        raise LabError(f"reading {container}'s {kind} namespace failed: "
                       f"{result.output[:200]}") from None


def links_of(lab, container) -> list[dict]:
    """The parsed ``ip -j addr`` of a running lab container (read again if torn or lost:
    ``lo`` is always there, so an empty list means the output was lost, see :func:`dockernet.probe.heard`)."""
    for _attempt in range(3):
        links = probe.read_json(lab.get_container(container), ["ip", "-j", "addr"],
                                what=f"{container}'s interfaces")
        if links:
            break
    return links


def interfaces(lab, containers=None) -> pd.DataFrame:
    """Every interface of some lab containers, seen from inside each, with its namespace.

    Containers that share a network namespace list the same interfaces with the same
    addresses and the same ``netns``; :func:`styled` colours each namespace.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        containers (list of str): the learner's names (default: the lesson's running
            containers, helper tools left out).

    Returns:
        pandas.DataFrame: columns ``container``, ``netns``, ``interface``, ``state``,
        ``ipv4``, ``ipv6``, ``mac``; one row per interface of each container.

    Raises:
        dockernet.UnknownObject: an unknown container.
        LabError: a container is not running.
    """
    if containers is None:
        containers = [lab.short_name(c) for c in lab.containers() if c.status == "running"]
    rows = []
    for name in containers:
        rows += interface_rows(links_of(lab, name), name, namespace_of(lab, name))
    return interfaces_frame(rows)


def namespace_colours(table: pd.DataFrame) -> dict[str, str]:
    """``{netns: colour}`` for an :func:`interfaces` table, in the order namespaces appear.

    >>> namespace_colours(pd.DataFrame({"netns": ["net:[1]", "net:[1]", "net:[2]"]}))
    {'net:[1]': '#dbeafe', 'net:[2]': '#dcfce7'}
    """
    return {netns: COLOURS[i % len(COLOURS)]
            for i, netns in enumerate(dict.fromkeys(table["netns"]))}


def styled(table: pd.DataFrame):
    """An :func:`interfaces` table with one background colour per network namespace
    (:func:`namespace_colours`): containers that share a namespace share a colour."""
    colours = namespace_colours(table)
    return (table.style.hide(axis="index")
            .apply(lambda row: [f"background-color: {colours[row['netns']]}"] * len(row), axis=1))


def shares_network_namespace(lab, first, second) -> bool:
    """True when two running lab containers are in the same network namespace."""
    return namespace_of(lab, first) == namespace_of(lab, second)


def compare(lab, first, second) -> pd.DataFrame:
    """Which namespaces two running lab containers share, and their hostnames.

    Returns:
        pandas.DataFrame: one row per namespace kind (and one for the hostname), with
        each container's value, ``same`` and what that namespace holds.

    >>> _ = lab.run("app"), lab.run("debug", network="container:app")
    >>> table = compare(lab, "app", "debug")
    >>> table.loc[["net", "pid", "hostname"], "same"].tolist()
    [True, False, True]
    """
    if first == second:
        raise LabError(f"compare two different containers, not {first!r} with itself.")
    rows = []
    for kind, holds in NAMESPACE_KINDS.items():
        values = [namespace_of(lab, name, kind) for name in (first, second)]
        rows.append({"what": kind, first: values[0], second: values[1],
                     "same": values[0] == values[1], "holds": holds})
    names = [exec_heard(lab, name, ["hostname"]).expect_success().stdout
             for name in (first, second)]
    rows.append({"what": "hostname", first: names[0], second: names[1],
                 "same": names[0] == names[1], "holds": "the name `hostname` prints"})
    return pd.DataFrame(rows, columns=["what", first, second, "same", "holds"]).set_index("what")


# -- live: a sidecar, a capture, a restart ------------------------------------------------


def sidecar(lab, name: str, target: str, command=None, **extra):
    """A tools container joined to ``target``'s network namespace (``--network container:TARGET``).

    It runs the lab image (curl, ip, ss, tcpdump...), so it can look at a container
    whose own image has no tools at all; ``target`` needs nothing installed. A sidecar
    that exists already but was left in an old namespace (``target`` restarted since) is
    restarted, so it joins the current one.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        name (str): the sidecar's name, e.g. ``"debug"``.
        target (str): the running lab container whose namespace it joins.
        command: what it runs (default: ``sleep infinity``).
        **extra: passed on to :meth:`dockernet.Lab.run`.

    Returns:
        docker.models.containers.Container: running.

    Raises:
        LabError: ``name`` is ``target``, ``target`` is unknown or not running (Docker
            cannot join the namespace of a stopped container); nothing is created.
    """
    if name == target:
        raise LabError(f"a container cannot join its own namespace: give the sidecar another "
                       f"name than {target!r}.")
    joined = lab.get_container(target)
    if joined.status != "running":
        raise LabError(f"{target!r} is {joined.status}: Docker joins only the namespace of a "
                       f"running container. Start it first (re-run the cell that makes it).")
    container = lab.run(name, command, network=f"container:{target}", **extra)
    if not shares_network_namespace(lab, name, target):
        # Re-run after the target restarted: the sidecar is alive in the old namespace.
        container = restart(lab, name)
    return container


def _listening(lab, container, port: int) -> bool:
    result = lab.exec(container, ["ss", "-Hltn", f"sport = :{port}"], timeout=5)
    return result.ok and bool(result.stdout.strip())


def restart(lab, name: str, *, port: int | None = None, timeout: float = 2):
    """``docker restart NAME``, then wait until it runs again (and listens on ``port``).

    Args:
        lab (dockernet.Lab): the lesson's lab.
        name (str): the lab container.
        port (int): wait until something listens on this TCP port in its namespace.
        timeout (float): seconds Docker waits for it to stop before it kills it.

    Returns:
        docker.models.containers.Container: running again.

    Raises:
        LabError: Docker refused to start it (the message is Docker's), or it did not
            come back within :data:`READY_TIMEOUT_S`.
    """
    import docker

    container = lab.get_container(name)
    try:
        lab.client.api.restart(container.id, timeout=timeout)
    except docker.errors.APIError as exc:
        raise LabError(f"Docker could not restart {name!r}: {exc.explanation or exc}") from None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "running" and (port is None or _listening(lab, name, port)):
            return container
        time.sleep(0.1)
    raise LabError(f"{name!r} did not come back within {READY_TIMEOUT_S} s "
                   f"(status {container.status}).")


def capture(lab, container, bpf_filter: str, during: Callable[[], object], *,
            interface: str = "eth0", count: int = 6, timeout: float = 10) -> probe.ProbeResult:
    """Capture packets with ``tcpdump`` inside ``container`` while ``during()`` runs.

    tcpdump starts first; once it says it is listening, ``during`` is called (e.g. a
    curl from another container), then the capture ends after ``count`` packets or
    ``timeout`` seconds, whichever comes first.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        container (str): where tcpdump runs: a sidecar sees its target's interfaces.
        bpf_filter (str): tcpdump's filter, e.g. ``"tcp port 8000"``.
        during (callable): called once tcpdump listens; its result is ignored.
        interface (str): the interface to listen on.
        count (int): packets to capture.
        timeout (float): seconds, enforced inside the container.

    Returns:
        ProbeResult: the packets, one line each, in ``stdout``; tcpdump's summary in
        ``stderr``. Exit 124 means fewer than ``count`` packets came in time.

    Raises:
        LabError: tcpdump did not start listening within :data:`READY_TIMEOUT_S`.
    """
    target = lab.get_container(container)
    # -l: a line as soon as a packet is seen; -n: addresses, not names; -q: one short line.
    argv = ["tcpdump", "-l", "-n", "-q", "-i", interface, "-c", str(count), bpf_filter]
    wrapped = ["timeout", "-k", "1", f"{timeout:g}", *argv]
    api = lab.client.api
    exec_id = api.exec_create(target.id, wrapped, stdout=True, stderr=True)["Id"]
    stdout, stderr, listening = [], [], threading.Event()

    def pump():  # tcpdump says "listening on ..." on stderr once its socket is open
        for out, err in api.exec_start(exec_id, stream=True, demux=True):
            stdout.append((out or b"").decode(errors="replace"))
            stderr.append((err or b"").decode(errors="replace"))
            if "listening on" in "".join(stderr):
                listening.set()
        listening.set()  # it ended (or failed): stop waiting

    start = time.perf_counter()
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if not listening.wait(READY_TIMEOUT_S):
        raise LabError(f"tcpdump in {container!r} did not start within {READY_TIMEOUT_S} s.")
    during()
    reader.join(timeout + 5)
    exit_code = api.exec_inspect(exec_id).get("ExitCode")
    out, err = "".join(stdout).strip(), "".join(stderr).strip()
    return probe.ProbeResult(lab.short_name(target), argv, -1 if exit_code is None else exit_code,
                             "\n".join(part for part in (out, err) if part),
                             time.perf_counter() - start, out, err)
