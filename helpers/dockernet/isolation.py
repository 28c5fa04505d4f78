"""Keeping containers apart: internal networks, ICC off, and a DNS server of the lab's own.

Lesson 11 shows what ``--internal`` and ``com.docker.network.bridge.enable_icc=false``
really stop, and whether Docker's embedded DNS (``127.0.0.11``) still carries names out
of an internal network. Nothing leaves the machine for that: the "upstream" DNS server
is a tiny resolver the lab runs itself (:data:`DNS_SERVER`, python3's standard library,
already in the lab image), in the network namespace of the learner's outside world
(:mod:`dockernet.outside`) or on a lab network. It answers every name under
:data:`ZONE` (an RFC 2606 name, never delegated on the internet) with one address,
refuses the rest with NXDOMAIN, and logs every query it gets, so a lesson can show which
names reached it and which never did.

What the embedded DNS does with a name it does not know, for a container whose only
networks are internal, changed with CVE-2024-29018 (GHSA-mq39-4gv4-mvpx); checked in
moby's source (``libnetwork/resolver.go``, ``sandbox_dns_unix.go``):

- before the fix (20.10 to 23.0.10, 24.x, 25.0.0 to 25.0.4) it forwards every such
  query. To an upstream from ``--dns`` it does so from the container's namespace, where an
  internal network has no route out, so the query dies there; but when the daemon's own
  upstream is a loopback resolver of the host (systemd-resolved's ``127.0.0.53``,
  dnsmasq on ``127.0.0.1``), it forwards from the *host's* namespace, and the query
  leaves the machine: data can be smuggled out in names;
- 23.0.11, 25.0.5 and 26.0.0 to 26.1.2 forward nothing for such a container
  (``SetForwardingPolicy``), not even to a DNS server on the internal network itself;
- 26.1.3 and later skip only host-loopback upstreams; a DNS server reachable on the
  internal network answers again (moby commit 77a47dba, "Forward DNS requests into
  --internal networks").

:func:`dns_forwarding` says which of these an engine version does.

>>> dns_forwarding("20.10.24+dfsg1")["forwards to a loopback resolver of the host"]
True
>>> dns_forwarding("28.5.2")["forwards to a DNS server on the internal network"]
True
"""

from __future__ import annotations

import ipaddress
import re
import time

import pandas as pd

from . import hostview, probe
from .engines import parse_version
from .errors import LabError
from .firewall import rules as firewall_rules
from .lab import READY_TIMEOUT_S

#: The driver option that turns inter-container communication off on a bridge network.
ICC_OFF = {"com.docker.network.bridge.enable_icc": "false"}
#: The lab DNS server's zone: every name under it resolves; others get NXDOMAIN.
ZONE = "outside.example"
#: A DNS server in 25 lines of python3's standard library: A records for ZONE, NXDOMAIN
#: for the rest, one log line per query ("query from CLIENT NAME type N"). Arguments: the
#: zone, the answer, and optionally the UDP port (53).
DNS_SERVER = r"""
import socket, struct, sys
zone, answer = sys.argv[1].lower().rstrip(".") + ".", socket.inet_aton(sys.argv[2])
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
port = int(sys.argv[3]) if len(sys.argv) > 3 else 53
server.bind(("0.0.0.0", port))
print("serving", zone, "on udp", port, flush=True)
while True:
    data, client = server.recvfrom(4096)
    try:
        ident, flags = struct.unpack("!HH", data[:4])
        at, labels = 12, []
        while data[at]:
            labels.append(data[at + 1:at + 1 + data[at]].decode("ascii", "replace"))
            at += 1 + data[at]
        qtype = struct.unpack("!H", data[at + 1:at + 3])[0]
        question, name = data[12:at + 5], ".".join(labels).lower() + "."
    except (IndexError, struct.error):
        continue
    print("query from", client[0], name, "type", qtype, flush=True)
    ours = name == zone or name.endswith("." + zone)
    found = ours and qtype == 1
    # QR + AA + RD echoed + RA; rcode 3 (NXDOMAIN) outside the zone
    head = struct.pack("!HHHHHH", ident, 0x8480 | (flags & 0x0100) | (0 if ours else 3),
                       1, 1 if found else 0, 0, 0)
    record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + answer if found else b""
    server.sendto(head + question + record, client)
"""
_QUERY = re.compile(r"^query from (\S+) (\S+) type (\d+)$")
QUERY_COLUMNS = ["client", "name", "type"]
#: Which engine versions carry the fix for CVE-2024-29018, and the later relaxation.
FIXED_RANGES = (((23, 0, 11), (24, 0, 0)), ((25, 0, 5), (26, 0, 0)), ((26, 0, 0), (999, 0, 0)))
ON_NET_AGAIN = (26, 1, 3)
#: From 25.0 a container on internal networks only gets no default route (moby PR #46603).
NO_INTERNAL_GATEWAY_SINCE = (25, 0, 0)
ICC_COLUMNS = ["chain", "rule"]


# -- pure ---------------------------------------------------------------------------------------


def parse_queries(log: str) -> list[dict]:
    """The queries a lab DNS server logged, oldest first.

    >>> parse_queries("serving outside.example. on udp 53\\n"
    ...               "query from 198.51.100.1 www.outside.example. type 1")
    [{'client': '198.51.100.1', 'name': 'www.outside.example', 'type': 'A'}]
    """
    types = {1: "A", 28: "AAAA", 5: "CNAME", 15: "MX", 16: "TXT"}
    rows = []
    for line in log.splitlines():
        found = _QUERY.match(line.strip())
        if found:
            rows.append({"client": found.group(1), "name": found.group(2).rstrip("."),
                         "type": types.get(int(found.group(3)), found.group(3))})
    return rows


def dns_fixed(version: str | None) -> bool | None:
    """Whether an engine version carries the fix for CVE-2024-29018 (``None``: unknown).

    >>> dns_fixed("20.10.24"), dns_fixed("24.0.9"), dns_fixed("25.0.5"), dns_fixed("23.0.11")
    (False, False, True, True)
    """
    parsed = parse_version(version)
    if parsed is None:
        return None
    return any(low <= parsed < high for low, high in FIXED_RANGES)


def internal_default_route(version: str | None) -> bool | None:
    """Whether a container on internal networks only gets a default route (through the
    bridge's address, where Docker's rules drop what it sends): before 25.0 yes, from 25.0
    no (moby PR #46603), so a connection fails at once instead of timing out.

    >>> internal_default_route("20.10.24"), internal_default_route("25.0.0"), internal_default_route("x")
    (True, False, None)
    """
    parsed = parse_version(version)
    return None if parsed is None else parsed < NO_INTERNAL_GATEWAY_SINCE


def dns_forwarding(version: str | None) -> dict:
    """What the embedded DNS does for a container whose only networks are internal, asked
    for a name it does not know (see the module docstring).

    Returns:
        dict: ``engine``, ``CVE-2024-29018 fixed``, ``forwards to a loopback resolver of
        the host`` and ``forwards to a DNS server on the internal network`` (``None``
        where the version cannot be read).

    >>> dns_forwarding("26.1.0")["forwards to a DNS server on the internal network"]
    False
    """
    fixed, parsed = dns_fixed(version), parse_version(version)
    on_net = None if parsed is None else (not fixed or parsed >= ON_NET_AGAIN)
    return {"engine": version, "CVE-2024-29018 fixed": fixed,
            "forwards to a loopback resolver of the host": None if fixed is None else not fixed,
            "forwards to a DNS server on the internal network": on_net}


def nameserver_rows(resolv_conf: str) -> list[dict]:
    """The ``nameserver`` lines of a ``resolv.conf``, each marked when it is a loopback address
    (the upstream the embedded DNS reaches from the host's namespace).

    >>> nameserver_rows("# systemd-resolved\\nnameserver 127.0.0.53\\nnameserver 10.0.0.2\\n")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'nameserver': '127.0.0.53', 'on the host loopback': True},
     {'nameserver': '10.0.0.2', 'on the host loopback': False}]
    """
    rows = []
    for line in resolv_conf.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                loopback = ipaddress.ip_address(words[1].split("%")[0]).is_loopback
            except ValueError:
                continue
            rows.append({"nameserver": words[1], "on the host loopback": loopback})
    return rows


def icc_rows(rows, bridge: str) -> list[dict]:
    """The rules that drop traffic between two containers of one bridge (ICC off).

    iptables: ``-i BR -o BR -j DROP`` (in ``FORWARD`` up to Docker 28.0.0, in
    ``DOCKER-FORWARD`` from 28.0.1); nftables: a ``drop`` for ``iifname``/``oifname`` of
    the bridge in one of its own chains.

    >>> rows = [{"table": "filter", "chain": "FORWARD", "rule": "-A FORWARD -i br-1 -o br-1 -j DROP"},
    ...         {"table": "filter", "chain": "FORWARD", "rule": "-A FORWARD -i br-2 -o br-2 -j DROP"}]
    >>> [r["rule"] for r in icc_rows(rows, "br-1")]
    ['-A FORWARD -i br-1 -o br-1 -j DROP']

    Docker 28's ``-A DOCKER ! -i BR -o BR -j DROP`` (no direct access from outside the bridge,
    on every bridge) is not an ICC rule:

    >>> icc_rows([{"table": "filter", "chain": "DOCKER",
    ...            "rule": "-A DOCKER ! -i br-1 -o br-1 -j DROP"}], "br-1")
    []
    """
    found = []
    for row in rows:
        rule = row.get("rule", "")
        if "family" in row:  # nftables
            same = f'iifname "{bridge}"' in rule and f'oifname "{bridge}"' in rule
            mine = row.get("chain", "").endswith(f"__{bridge}") and f'"{bridge}"' in rule
            if (same or mine) and rule.rstrip().endswith("drop") and "ifname !=" not in rule:
                found.append(row)
        elif row.get("table") == "filter" and f"! -i {bridge}" not in rule and \
                re.search(rf"(^| )-i {re.escape(bridge)} -o {re.escape(bridge)} -j DROP$", rule):
            found.append(row)
    return found


# -- live ---------------------------------------------------------------------------------------


def bridge_of(lab, network: str) -> str:
    """The Linux bridge behind one of the lesson's bridge networks (``br-`` and 12 hex digits)."""
    return hostview.bridge_interface(lab.get_network(network).attrs)


def icc_rules(lab, network: str) -> pd.DataFrame:
    """The host's rules that keep containers of ``network`` from talking to each other.

    Returns:
        pandas.DataFrame: ``chain``, ``rule``; empty when ICC is on.
    """
    bridge = bridge_of(lab, network)
    rows = icc_rows(firewall_rules(lab).to_dict("records"), bridge)
    return pd.DataFrame(rows, columns=ICC_COLUMNS)


def dns_server(lab, name: str, *, network: str, answer: str, zone: str = ZONE):
    """Get or create a lab DNS server: every name under ``zone`` resolves to ``answer``.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        name (str): the server container's name.
        network (str): where it listens: a lab network, or ``"container:NAME"`` to share
            another lab container's network namespace (the outside world's, for an
            upstream "out there").
        answer (str): the IPv4 address every name of the zone gets.
        zone (str): the zone it answers for (default :data:`ZONE`).

    Returns:
        docker.models.containers.Container: running, and answering on UDP port 53.

    Raises:
        LabError: ``answer`` is not an IPv4 address (nothing is made), or the server did
            not answer in time.

    >>> from dockernet import outside
    >>> world = outside.outside_world(lab)
    >>> server = dns_server(lab, "outside-dns", network="container:outside", answer=world.address)
    >>> lab.dig("outside", "www." + ZONE, server="127.0.0.1").output == world.address
    True
    """
    try:
        ipaddress.IPv4Address(answer)
    except ValueError:
        raise LabError(f"answer {answer!r} is not an IPv4 address: give one like "
                       "world.address or lab.ip('web').") from None
    container = lab.run(name, ["python3", "-c", DNS_SERVER, zone, answer], network=network)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        asked = probe.dig(container, f"ready.{zone}", server="127.0.0.1", timeout=1)
        if asked.ok and asked.output == answer:
            return container
        container.reload()
        if container.status != "running":
            break
        time.sleep(0.2)
    logs = container.logs(tail=5).decode(errors="replace")
    raise LabError(f"the lab DNS server {name!r} did not answer within {READY_TIMEOUT_S} s. "
                   f"Its last log lines:\n{logs}")


def queries_seen(lab, server: str) -> pd.DataFrame:
    """The queries a lab DNS server received (its log), without its own readiness checks.

    Returns:
        pandas.DataFrame: ``client``, ``name``, ``type``.
    """
    log = lab.get_container(server).logs().decode(errors="replace")
    rows = [row for row in parse_queries(log) if not row["name"].startswith("ready.")]
    return pd.DataFrame(rows, columns=QUERY_COLUMNS)


def host_upstreams(lab) -> pd.DataFrame:
    """The DNS servers of the host the engine runs on (its ``/etc/resolv.conf``, as a
    host-network container gets it), each marked when it sits on the host's loopback:
    the condition under which engines before the fix forwarded an internal network's
    queries from the host's namespace. Reads a file; sends nothing.
    """
    result = hostview.host_exec(lab, ["cat", "/etc/resolv.conf"])
    if not result.ok:
        raise LabError(f"reading the host's resolv.conf failed: {result.output[:200]}")
    frame = pd.DataFrame(nameserver_rows(result.stdout),
                         columns=["nameserver", "on the host loopback"])
    return frame


def forwarding_frame(lab) -> pd.DataFrame:
    """:func:`dns_forwarding` for this engine, as a one-row table."""
    return pd.DataFrame([dns_forwarding(lab.client.version().get("Version"))])
