"""The host's side of the wire: a service on the host, probes from the host, ``host-gateway``.

Lesson 05 needs "a service running on the host" that containers try to reach, and
the notebook's kernel may not run on the Docker host at all (a remote daemon, Docker
Desktop's VM, Docker-in-Docker). So the service is played by a lab container on the
host network (``--network host``): its process listens in the host's own network
namespace, on a port of this learner's own (:func:`dockernet.ports.host_port`) and on
the address you choose (``bind``), exactly as a program started on the host would.
Probes "from the host" run in the host view (:mod:`dockernet.hostview`), which shares
that namespace.

Two layers, as elsewhere: pure functions (the bind-address rule, summaries of
``ip -j addr``, ``/etc/hosts`` entries) with unit tests on captured output, and live
functions that start services and probe them.

>>> import dockernet as dn
>>> from dockernet import hostside
>>> lab = dn.Lab("05-host-network", quiet=True)
>>> service = hostside.host_service(lab, "host-app")             # on 127.0.0.1, a port of our own
>>> hostside.host_curl(lab, service.url()).output
'Hello from the host!'
>>> lab.curl(lab.run("box"), service.url(), timeout=1).ok         # the container's own 127.0.0.1
False
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import docker
import pandas as pd

from . import engines, hostview, ports, probe
from .errors import LabError
from .lab import READY_TIMEOUT_S
from .namespaces import namespace_of

#: What a host service answers unless told otherwise.
HOST_MESSAGE = "Hello from the host!"
#: A caller of :func:`reach_table` that is the host itself (a probe from the host view).
HOST = "host"
#: The name Docker Desktop gives the host, and the one Linux users add with ``--add-host``.
HOST_NAME = "host.docker.internal"
#: How :func:`interface_summary` names interface kinds, in the order it lists them.
KIND_ORDER = ("loopback", "device", "bridge", "veth", "vxlan", "macvlan", "ipvlan", "dummy")
SUMMARY_COLUMNS = ["kind", "interfaces", "names", "IPv4 addresses"]
#: Names or addresses shown per row of a summary before "+N more".
SHOWN = 3


# -- pure ------------------------------------------------------------------------------------


def reaches(in_host_namespace: bool, dialled: str, bind: str) -> bool:
    """Whether a TCP connection to ``dialled`` reaches a server listening on ``bind``.

    The rule lesson 05 measures. A server bound to one address accepts connections
    for that address only; ``0.0.0.0`` accepts them for every address of the host.
    A loopback address means "this namespace": from a container, ``127.0.0.1`` is the
    container's own loopback, never the host's.

    Args:
        in_host_namespace (bool): the caller is in the host's network namespace.
        dialled (str): the IPv4 address the caller connects to (names already resolved).
        bind (str): the address the host's server listens on.

    >>> reaches(True, "127.0.0.1", "127.0.0.1"), reaches(False, "127.0.0.1", "0.0.0.0")
    (True, False)
    >>> reaches(False, "172.17.0.1", "172.17.0.1"), reaches(False, "172.17.0.1", "127.0.0.1")
    (True, False)
    """
    if ipaddress.ip_address(dialled).is_loopback and not in_host_namespace:
        return False
    return bind in ("0.0.0.0", "::") or bind == dialled


def hosts_entries(hosts_text: str, name: str) -> list[str]:
    """The addresses an ``/etc/hosts`` text gives ``name``, in file order.

    >>> hosts_entries("127.0.0.1\\tlocalhost\\n172.17.0.1\\thost.docker.internal\\n"
    ...               "# 10.0.0.1 host.docker.internal\\n10.202.200.2\\tapp", "host.docker.internal")
    ['172.17.0.1']
    """
    found = []
    for line in hosts_text.splitlines():
        words = line.split("#")[0].split()
        if len(words) > 1 and name in words[1:]:
            found.append(words[0])
    return found


def _shorten(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" +{len(items) - SHOWN} more" if len(items) > SHOWN else "")


def interface_summary(links: Iterable[dict]) -> list[dict]:
    """One row per kind of interface in ``ip -j -d addr`` output: a classroom host has
    hundreds of veths, and a list of them all says less than their count.

    Returns:
        list of dict with the keys of :data:`SUMMARY_COLUMNS`: the kind (``loopback``,
        ``device``, ``bridge``, ``veth``...), how many, the first names and the IPv4
        addresses (``ADDRESS/PREFIX``), each list cut after :data:`SHOWN`.

    >>> links = [{"ifname": "docker0", "linkinfo": {"info_kind": "bridge"},
    ...           "addr_info": [{"family": "inet", "local": "172.17.0.1", "prefixlen": 16}]}]
    >>> links += [{"ifname": f"veth{n}", "linkinfo": {"info_kind": "veth"}} for n in range(5)]
    >>> [tuple(row.values()) for row in interface_summary(links)]
    [('bridge', 1, 'docker0', '172.17.0.1/16'), ('veth', 5, 'veth0, veth1, veth2 +2 more', '')]
    """
    groups: dict[str, dict] = {}
    for row in hostview.interface_rows(links, prefixes=None):
        group = groups.setdefault(row["kind"], {"names": [], "addresses": []})
        group["names"].append(row["name"])
        group["addresses"].extend(row["addresses"])
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return [{"kind": kind, "interfaces": len(group["names"]), "names": _shorten(group["names"]),
             "IPv4 addresses": _shorten(group["addresses"])}
            for kind, group in sorted(groups.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))]


def default_route_address(routes: Iterable[dict], links: Iterable[dict]) -> tuple[str, str] | None:
    """``(interface, IPv4 address)`` of the interface the host's default route leaves by:
    the address its LAN knows it by. ``None`` without a default route.

    >>> default_route_address([{"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"}],
    ...                       [{"ifname": "eth0", "addr_info": [{"family": "inet",
    ...                                                          "local": "192.0.2.2"}]}])
    ('eth0', '192.0.2.2')
    """
    device = next((r.get("dev") for r in routes if r.get("dst") == "default"), None)
    for link in links:
        if device and link.get("ifname") == device:
            address = next((a["local"] for a in link.get("addr_info") or []
                            if a.get("family") == "inet"), None)
            return (device, address) if address else None
    return None


def expected_host_gateway(version: str | None, bridge_ipam: list[dict]) -> list[str]:
    """What ``host-gateway`` becomes in ``/etc/hosts`` by default, on an engine of ``version``
    whose default bridge has the IPAM ``Config`` entries ``bridge_ipam``.

    Unless the daemon sets ``host-gateway-ip`` (``-ips`` from 28), Docker reads them from the
    default bridge when it starts (moby ``daemon/daemon_unix.go``, ``setHostGatewayIP``): up
    to 27 one address (IPv4, else IPv6), from 28.0 the IPv4 and the IPv6 gateway.

    >>> ipam = [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"},
    ...         {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"}]
    >>> expected_host_gateway("20.10.24", ipam), expected_host_gateway("28.5.2", ipam)
    (['172.17.0.1'], ['172.17.0.1', 'fd00:1::1'])
    >>> expected_host_gateway("28.5.2", ipam[:1])
    ['172.17.0.1']
    """
    gateways = {4: [], 6: []}
    for entry in bridge_ipam:
        if entry.get("Gateway"):
            gateways[ipaddress.ip_address(entry["Gateway"]).version].append(entry["Gateway"])
    if (engines.parse_version(version) or (0,)) >= (28, 0, 0):
        return gateways[4][:1] + gateways[6][:1]
    return (gateways[4] or gateways[6])[:1]


def last_error_line(log: str) -> str:
    """The last line of a Python traceback (or any log) that says what went wrong.

    >>> last_error_line("Traceback (most recent call last):\\n  File ...\\n    ~~~^^^\\n"
    ...                 "OSError: [Errno 98] Address already in use\\n")
    'OSError: [Errno 98] Address already in use'
    """
    lines = [line.strip() for line in log.splitlines()
             if line.strip() and not line.startswith((" ", "\t"))]
    return lines[-1] if lines else "(it printed nothing)"


# -- live: a service on the host ------------------------------------------------------------


@dataclass
class HostService:
    """A web server "on the host": a host-network lab container.

    Attributes:
        name (str): the lab container's short name.
        bind (str): the address it listens on (``0.0.0.0``: every address of the host).
        port (int): its port, in the host's port space.
        message (str): what it answers.
    """

    name: str
    bind: str
    port: int
    message: str = HOST_MESSAGE

    def url(self, address: str | None = None) -> str:
        """``http://ADDRESS:PORT/``: by default the address it listens on (``127.0.0.1``
        for a server on every address)."""
        where = address or (self.bind if self.bind not in ("0.0.0.0", "::") else "127.0.0.1")
        return f"http://{where}:{self.port}/"


def _check_bind(lab, bind) -> str:
    try:
        address = str(ipaddress.IPv4Address(str(bind).strip()))
    except ValueError:
        address = None
    rows = hostview.interface_rows(hostview.host_links(lab, details=False), prefixes=None)
    if address == "0.0.0.0" or address in {a.split("/")[0] for r in rows for a in r["addresses"]}:
        return address
    bridge = default_bridge_gateway(lab)
    raise LabError(f"bind={bind!r} is not an IPv4 address of this host: a server can only listen on "
                   f"the host's own addresses. Use '127.0.0.1' (the host only), {bridge!r} (the "
                   "default bridge's gateway, which containers reach) or '0.0.0.0' (every address, "
                   "your LAN's too). Nothing was started.")


def _own_listener(container, port: int) -> bool:
    # In the host's namespace `ss` lists every listener, but names only the processes of its
    # own PID namespace: a listener with our process is ours, one without is someone else's.
    listing = probe.run(container, ["ss", "-Hltnp", f"sport = :{port}"], timeout=3)
    return listing.ok and "users:(" in listing.output


def host_service(lab, name: str, *, bind: str = "127.0.0.1", port: int | None = None,
                 message: str = HOST_MESSAGE) -> HostService:
    """Start (or keep) a web server on the host: a lab hello server on the host network
    (``docker run -d --network host ...``: lesson 05 gives the whole command).

    Args:
        lab (dockernet.Lab): the lesson's lab.
        name (str): the container's short name, e.g. ``"host-app"``.
        bind (str): an IPv4 address of the host to listen on, or ``"0.0.0.0"`` for all of
            them (the LAN's included: only for a moment, on purpose).
        port (int): a port in the host's port space (default: this learner's own,
            :func:`dockernet.ports.host_port`).
        message (str): what it answers.

    Returns:
        HostService

    Raises:
        LabError: ``bind`` is not an address of the host (nothing is started), or the
            server could not listen, e.g. "Address already in use" when something on the
            host holds the port (the container is removed; the message quotes its log).

    Example:

        >>> service = host_service(lab, "host-app")
        >>> host_curl(lab, service.url()).output
        'Hello from the host!'
        >>> host_service(lab, "clash", port=service.port)        # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        dockernet.errors.LabError: host service 'clash' could not listen on ...: OSError: [Errno 98] ...
    """
    address = _check_bind(lab, bind)
    if port is None:
        port = ports.host_port(lab)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise LabError(f"port={port!r}: give a port number from 1 to 65535, e.g. "
                       "dockernet.ports.host_port(lab). Nothing was started.")
    try:
        container = lab.hello_server(name, network="host", port=port, bind=address,
                                     message=message)
    except LabError as exc:
        if f"on port {port} stopped" not in str(exc):
            raise
        # It stopped at once (hello_server removed it): say why in one line.
        raise _could_not_listen(name, address, port, str(exc)) from None
    # hello_server's check asks the port; on the host network another server holding it may
    # answer for ours while ours is failing to bind. So wait until the listener is our process.
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            break
        try:
            if _own_listener(container, port):
                return HostService(name, address, port, message)
        except LabError:
            continue  # it stopped between the two looks: the next turn says so
        time.sleep(0.1)
    logs = container.logs(tail=20).decode(errors="replace")
    lab.client.api.remove_container(container.id, force=True)  # leave nothing half-made
    raise _could_not_listen(name, address, port, logs)


def _could_not_listen(name: str, address: str, port: int, log: str) -> LabError:
    return LabError(f"host service {name!r} could not listen on {address}:{port}: "
                    f"{last_error_line(log)}. Something in the host's namespace holds that port "
                    f"(`docker logs` shows the whole error); take another with "
                    f"dockernet.ports.host_port(lab, after={port}). Nothing was left running.")


def host_curl(lab, url: str, timeout: float = 3) -> probe.ProbeResult:
    """``curl URL`` from the host's network namespace (in the host view).

    What a program on the Docker host would get: on a Linux engine the host itself; on
    Docker Desktop and colima their VM; with rootless Docker, RootlessKit's namespace.
    """
    return probe.curl(hostview.host_view(lab), url, timeout=timeout)


def default_bridge_gateway(lab) -> str:
    """The IPv4 gateway of Docker's default bridge (``docker0``'s address).

    Raises:
        LabError: this daemon has no default bridge (``"bridge": "none"``).
    """
    try:
        config = lab.client.networks.get("bridge").attrs["IPAM"]["Config"] or []
    except docker.errors.NotFound:
        config = []
    for entry in config:
        if entry.get("Gateway") and ipaddress.ip_address(entry["Gateway"]).version == 4:
            return entry["Gateway"]
    raise LabError("this daemon has no default bridge with an IPv4 gateway (daemon.json "
                   "\"bridge\": \"none\"?): host-gateway has nothing to resolve to; set "
                   "\"host-gateway-ip\" in daemon.json, or run lesson 05 on another engine.")


def host_gateway(lab) -> list[str]:
    """What ``--add-host NAME:host-gateway`` writes on this engine, unless its daemon sets
    ``host-gateway-ip(s)`` (which the API does not show): see :func:`expected_host_gateway`.

    >>> host_gateway(lab) == [default_bridge_gateway(lab)]     # no IPv6 on docker0 here
    True
    """
    default_bridge_gateway(lab)  # no default bridge: say so
    ipam = lab.client.networks.get("bridge").attrs["IPAM"]["Config"] or []
    return expected_host_gateway(lab.client.version().get("Version"), ipam)


# -- live: looking from the host and from containers ------------------------------------------


def interfaces(lab, container) -> pd.DataFrame:
    """What ``ip addr`` shows inside ``container``, one row per kind of interface
    (:func:`interface_summary`)."""
    links = probe.read_json(lab.get_container(container), ["ip", "-j", "-d", "addr"],
                            what=f"the interfaces of {container}",
                            hint="Is it still running? Re-run the cell that starts it.")
    return pd.DataFrame(interface_summary(links), columns=SUMMARY_COLUMNS)


def net_namespaces(lab, containers) -> pd.DataFrame:
    """Each container's network mode and network namespace
    (:func:`dockernet.namespaces.namespace_of`: the same ``net:[N]`` means the same namespace)."""
    rows = []
    for name in containers:
        container = lab.get_container(name)
        rows.append({"container": name, "network mode":
                     container.attrs["HostConfig"].get("NetworkMode"),
                     "net namespace": namespace_of(lab, name)})
    return pd.DataFrame(rows, columns=["container", "network mode", "net namespace"])


def lan_address(lab) -> str | None:
    """The host's address on the interface its default route leaves by (its LAN address),
    or ``None`` when it has no default route."""
    found = default_route_address(hostview.host_routes(lab),
                                  hostview.host_links(lab, details=False))
    return found[1] if found else None


def host_entries(lab, containers, name: str = HOST_NAME) -> pd.DataFrame:
    """For each container: its networks, its default gateway, and the address its
    ``/etc/hosts`` gives ``name``."""
    short_names = {network.name: lab.short_name(network) for network in lab.networks()}
    rows = []
    for short in containers:
        container = lab.get_container(short)
        networks = container.attrs["NetworkSettings"]["Networks"] or {}
        hosts = probe.run(container, ["cat", "/etc/hosts"]).expect_success().output
        route = probe.run(container, ["ip", "-4", "route", "show", "default"]).output.split()
        rows.append({"container": short,
                     "networks": ", ".join(short_names.get(n, n) for n in networks),
                     "default gateway": route[2] if route[:2] == ["default", "via"] else None,
                     name: ", ".join(hosts_entries(hosts, name)) or None})
    return pd.DataFrame(rows)


def _dial(lab, caller: str, address: str, service: HostService, timeout: float) -> bool:
    def once() -> probe.ProbeResult:
        url = service.url(address)
        if caller == HOST:
            return host_curl(lab, url, timeout=timeout)
        return lab.curl(caller, url, timeout=timeout)

    # Reachable means its own answer, twice in a row (another server on that port is not it).
    return all(result.ok and service.message in result.output for result in (once(), once()))


def reach_table(lab, callers, services, *, timeout: float = 1, workers: int = 8) -> pd.DataFrame:
    """Which caller reaches which host service: a DataFrame of booleans.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        callers (list): ``(source, address)`` pairs: ``source`` is a container's short
            name or :data:`HOST`, ``address`` what it dials (an address or a name, e.g.
            ``"host.docker.internal"``).
        services (list of HostService): the servers, each dialled on its own port.
        timeout (float): seconds per connection attempt.
        workers (int): probes at the same time.

    Returns:
        pandas.DataFrame: rows ``"source → address"`` (``from``), columns
        ``"name\\n(bind)"`` (``to``); a cell is True when the service answered with its
        message, twice, and None (not tested) for a caller whose address is None.
    """
    cells = [(caller, service) for caller in callers for service in services]

    def measure(cell):
        (source, address), service = cell
        # No address to dial (a host without a default route has no LAN address): not tested.
        return None if address is None else _dial(lab, source, address, service, timeout)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(cells)))) as pool:
        outcomes = list(pool.map(measure, cells))
    rows = [f"{source} → {address or '(none)'}" for source, address in callers]
    # Two lines: three bind addresses side by side fit a heat map's column labels.
    columns = [f"{service.name}\n({service.bind})" for service in services]
    values = [outcomes[i * len(services):(i + 1) * len(services)] for i in range(len(callers))]
    return pd.DataFrame(values, index=pd.Index(rows, name="from"),
                        columns=pd.Index(columns, name="to"))
