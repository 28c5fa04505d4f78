"""Published ports: the daemon's table, the firewall rules and the docker-proxy behind each,
the client addresses a server saw, and the rules lesson 03 adds on purpose.

``-p 127.0.0.1:20031:8000`` asks Docker for three things on the host: a DNAT rule
that sends new connections for ``127.0.0.1:20031`` to the container's address and
port 8000 (plus the rules around it, :mod:`dockernet.firewall.portrules`); with the
userland proxy (the default), a ``docker-proxy`` process listening on
``127.0.0.1:20031`` for what the DNAT rule cannot catch, such as the host's own
connections to 127.0.0.1; and the binding in ``docker port``. This module shows all
three side by side, for the lesson's containers only. The host's processes are read
by a helper container in the host's PID namespace (``host-ps``: no network, no extra
capability; it only reads ``ps``), its rules by the host view.

Two layers, as elsewhere: pure parsers (a container's inspect, a ``docker-proxy``
command line, a server's log) unit-tested on captured text, and live functions that
build DataFrames.

>>> from dockernet import ports
>>> port = ports.host_port(lab)
>>> web = lab.hello_server("web", ports={"8000/tcp": port})
>>> table = ports_table(lab)
>>> table[["container", "container_port", "host_ip"]].values.tolist()
[['web', '8000/tcp', '127.0.0.1']]
>>> int(table.host_port[0]) == port, table.container_ip[0] == lab.ip("web")
(True, True)
"""

from __future__ import annotations

import ipaddress
import re

import pandas as pd

from . import firewall, hostview
from .errors import LabError
from .firewall import labrules
from .firewall.portrules import PORT_RULE_COLUMNS, TOOL_COLUMNS, tool_view
from .firewall.portrules import port_rules as _port_rules

#: The helper that reads the host's processes: ``--pid host``, no network, no capability.
HOST_PS = "host-ps"
PORT_COLUMNS = ["container", "container_port", "host_ip", "host_port", "container_ip", "network"]
PROXY_COLUMNS = ["container", "pid", "proto", "host_ip", "host_port", "container_ip",
                 "container_port", "listen_fd"]
CLIENT_COLUMNS = ["client", "time", "request", "status"]
#: The firewall tools a host may have, and the command that dumps what each holds.
TOOLS = {"iptables-legacy-save": ["iptables-legacy-save"],
         "iptables-nft-save": ["iptables-nft-save"],
         "nft list ruleset": ["sh", "-c", "nft list ruleset 2>&1"]}
#: A python http.server log line: ``172.17.0.1 - - [26/Nov/2026 15:50:15] "GET / HTTP/1.1" 200 -``
_LOG_LINE = re.compile(r'^(\S+) - - \[([^\]]+)\] "([^"]*)" (\d{3})')


# -- pure ----------------------------------------------------------------------------------


def binding_rows(attrs: dict, name: str) -> list[dict]:
    """One row per published port of a container, from its ``docker inspect`` dict.

    The container address is the one on its network (the DNAT rule's target); a
    container on several networks lists the first that has an address.

    >>> attrs = {"NetworkSettings": {
    ...     "Ports": {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "20031"}], "9000/tcp": None},
    ...     "Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}}
    >>> binding_rows(attrs, "helloworld")  # doctest: +NORMALIZE_WHITESPACE
    [{'container': 'helloworld', 'container_port': '8000/tcp', 'host_ip': '127.0.0.1',
      'host_port': 20031, 'container_ip': '172.17.0.2', 'network': 'bridge'}]
    """
    settings = attrs.get("NetworkSettings") or {}
    network, address = next(((net, (ep or {}).get("IPAddress"))
                             for net, ep in (settings.get("Networks") or {}).items()
                             if (ep or {}).get("IPAddress")), (None, None))
    rows = []
    for container_port, bindings in sorted((settings.get("Ports") or {}).items()):
        for binding in bindings or []:
            if binding.get("HostPort"):
                rows.append({"container": name, "container_port": container_port,
                             "host_ip": binding.get("HostIp") or "0.0.0.0",
                             "host_port": int(binding["HostPort"]), "container_ip": address,
                             "network": network})
    return rows


def parse_proxy(line: str) -> dict | None:
    """A ``docker-proxy`` process from a ``ps -eo pid,args`` line, or ``None``.

    >>> parse_proxy("26887 /usr/sbin/docker-proxy -proto tcp -host-ip 127.0.0.1 -host-port "
    ...             "20031 -container-ip 172.17.0.3 -container-port 8000 -use-listen-fd")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'pid': 26887, 'proto': 'tcp', 'host_ip': '127.0.0.1', 'host_port': 20031,
     'container_ip': '172.17.0.3', 'container_port': 8000, 'listen_fd': True}
    >>> parse_proxy("1 /sbin/init") is None
    True
    """
    words = line.split()
    if len(words) < 2 or not words[0].isdigit() or not words[1].endswith("docker-proxy"):
        return None
    flags = {words[i][1:]: words[i + 1] for i in range(2, len(words) - 1)
             if words[i].startswith("-") and not words[i + 1].startswith("-")}
    try:
        return {"pid": int(words[0]), "proto": flags.get("proto", "tcp"),
                "host_ip": flags.get("host-ip"), "host_port": int(flags["host-port"]),
                "container_ip": flags.get("container-ip"),
                "container_port": int(flags["container-port"]),
                "listen_fd": "-use-listen-fd" in words}
    except (KeyError, ValueError):
        return None


def client_rows(log: str) -> list[dict]:
    """The requests a python ``http.server`` logged: who asked, when, what, and the answer.

    >>> client_rows('Serving HTTP on 0.0.0.0 port 8000 ...\\n'
    ...             '172.17.0.1 - - [26/Nov/2026 15:50:15] "GET / HTTP/1.1" 200 -')
    [{'client': '172.17.0.1', 'time': '26/Nov/2026 15:50:15', 'request': 'GET / HTTP/1.1', 'status': 200}]
    """
    rows = []
    for line in log.splitlines():
        found = _LOG_LINE.match(line.strip())
        if found:
            rows.append({"client": found.group(1), "time": found.group(2),
                         "request": found.group(3), "status": int(found.group(4))})
    return rows


# -- live: the daemon's view ---------------------------------------------------------------


def _bindings(lab, containers=None) -> list[dict]:
    chosen = lab.containers() if containers is None else \
        [lab.get_container(c) for c in ([containers] if isinstance(containers, str) else containers)]
    return [row for c in chosen for row in binding_rows(c.attrs, lab.short_name(c))]


def ports_table(lab, containers=None) -> pd.DataFrame:
    """The lesson's published ports, as ``docker port`` lists them, with each container's
    address: the table a DNAT rule is matched against.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        containers (str or list): only these (default: the lesson's containers).

    Returns:
        pandas.DataFrame: ``container``, ``container_port`` (``8000/tcp``), ``host_ip``,
        ``host_port``, ``container_ip`` and ``network``.
    """
    return pd.DataFrame(_bindings(lab, containers), columns=PORT_COLUMNS)


def port_rules(lab, container) -> pd.DataFrame:
    """The firewall rules that serve a container's published ports, as this engine's
    backend wrote them, each with what it does (:func:`~dockernet.firewall.portrules.port_rules`).

    Returns:
        pandas.DataFrame: ``table``, ``chain``, ``rule``, ``does``, in the order a packet
        from outside meets them; ``attrs["backend"]`` names the backend.

    Raises:
        LabError: the container publishes nothing, or no backend holds Docker's rules.
    """
    bindings = [b for b in _bindings(lab, [container]) if ":" not in b["host_ip"]]  # IPv4 only
    if not bindings:
        raise LabError(f"{lab.short_name(lab.get_container(container))!r} publishes no port: "
                       "start it with ports={'8000/tcp': PORT}.")
    name, source = firewall.backend(lab)
    text = firewall.dump(lab, name)
    rows = firewall.parse_nft_ruleset(text) if name == "nftables" else \
        firewall.parse_iptables_save(text)
    found = [rule for b in bindings
             for rule in _port_rules(rows, {**b, "container_port": int(b["container_port"]
                                                                      .split("/")[0])})]
    frame = pd.DataFrame(found, columns=PORT_RULE_COLUMNS)
    frame.attrs.update(backend=name, source=source)
    return frame


def proxies(lab) -> pd.DataFrame:
    """The ``docker-proxy`` processes serving the lesson's published ports, as the host's
    process list shows them (read by the ``host-ps`` helper in the host's PID namespace).

    Only processes whose host address, host port, container address and container port
    all match one of the lesson's bindings are listed: a shared host runs other
    learners' proxies too (and an engine inside a container shows its own).

    Returns:
        pandas.DataFrame: ``container``, ``pid``, ``proto``, ``host_ip``, ``host_port``,
        ``container_ip``, ``container_port`` and ``listen_fd`` (Docker 28+ opens the
        listening socket itself and hands it to the proxy: ``-use-listen-fd``).
    """
    bindings = {(b["host_ip"], b["host_port"], b["container_ip"],
                 int(b["container_port"].split("/")[0])): b["container"] for b in _bindings(lab)}
    ps = lab.run(HOST_PS, network="none", pid_mode="host", role="tool")
    listing = lab.exec(ps, ["ps", "-eo", "pid,args"]).expect_success()
    rows = []
    for line in listing.stdout.splitlines():
        proxy = parse_proxy(line.strip())
        if proxy is None:
            continue
        key = (proxy["host_ip"], proxy["host_port"], proxy["container_ip"], proxy["container_port"])
        if key in bindings:
            rows.append({"container": bindings[key], **proxy})
    return pd.DataFrame(rows, columns=PROXY_COLUMNS)


def clients_seen(lab, container) -> pd.DataFrame:
    """Who the hello server ``container`` answered, from its log (``docker logs``), oldest
    first. The first row is usually the lab's own readiness check from inside the
    container (``127.0.0.1``).

    Returns:
        pandas.DataFrame: ``client``, ``time``, ``request``, ``status``.
    """
    log = lab.get_container(container).logs().decode(errors="replace")
    return pd.DataFrame(client_rows(log), columns=CLIENT_COLUMNS)


def firewall_tools(lab) -> pd.DataFrame:
    """What each firewall tool in the host view shows of this host's rules.

    ``iptables-legacy-save`` and ``iptables-nft-save`` read two different sets of
    kernel tables (x_tables and nf_tables); ``nft list ruleset`` reads every nf_tables
    table, iptables-nft's included (in nft's own words), but never the legacy ones.

    Returns:
        pandas.DataFrame: ``tool``, ``shows Docker's rules``, ``rules`` (lines of rules) and
        ``note``.
    """
    rows = []
    for tool, argv in TOOLS.items():
        result = hostview.host_exec(lab, argv, timeout=10)
        rows.append(tool_view(tool, result.stdout if result.ok else ""))
    return pd.DataFrame(rows, columns=TOOL_COLUMNS)


# -- rules the lesson adds ------------------------------------------------------------------


def can_add_rules(lab) -> bool:
    """Whether the lab may add its rules here: an iptables backend (Docker 29's nftables
    backend has no ``DOCKER-USER`` chain, and the lab never writes nftables rules), and for
    iptables-legacy a lock file it can share with Docker (:func:`~dockernet.firewall.labrules.writer`)."""
    flavour = firewall.backend(lab)[0]
    if flavour not in labrules.FLAVOURS:
        return False
    try:
        labrules.writer(lab, flavour)
    except LabError:
        return False
    return True


def drop_rule(lab, world, chain: str, destination: str, port: int) -> pd.DataFrame:
    """Drop what the learner's outside world sends to ``destination:port``, with a rule at
    the top of ``chain`` (``"INPUT"`` or ``"DOCKER-USER"``).

    The source is always ``world.address``, the learner's own outside address, so the
    rule never touches anyone else's traffic; it carries the comment
    ``dockernet <learner> <lesson>`` and ``lab.cleanup()`` deletes it
    (:mod:`dockernet.firewall.labrules`).

    Args:
        lab (dockernet.Lab): the lesson's lab.
        world (dockernet.outside.OutsideWorld): the learner's outside world.
        chain (str): ``"INPUT"`` or ``"DOCKER-USER"``.
        destination (str): ``world.host_address`` or the address of one of the lesson's
            containers (``lab.ip(...)``), as the packet carries it in that chain.
        port (int): the destination port, as the packet carries it in that chain.

    Returns:
        pandas.DataFrame: this lesson's rules (``chain``, ``rule``, ``packets``).

    Raises:
        LabError: another chain, an address the lab did not give, a bad port, or an
            nftables engine; nothing is added.
    """
    if destination != world.host_address and destination not in _container_addresses(lab):
        raise LabError(f"{destination!r} is neither the host's address on your outside link "
                       f"({world.host_address}) nor one of this lesson's containers: the lab "
                       "only filters traffic to addresses it was given.")
    return labrules.add_drop(lab, chain, world.address, destination, port)


def lab_rules(lab) -> pd.DataFrame:
    """The rules this lesson added (:func:`drop_rule`), with the packets each matched."""
    return labrules.lab_rules(lab)


def _container_addresses(lab) -> set[str]:
    return {ep.get("IPAddress") for c in lab.containers()
            for ep in (c.attrs["NetworkSettings"]["Networks"] or {}).values()
            if ep.get("IPAddress")}


def is_loopback(address: str) -> bool:
    """``127.0.0.1`` and the rest of ``127.0.0.0/8`` (or ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
    (True, False)
    """
    return ipaddress.ip_address(address).is_loopback
