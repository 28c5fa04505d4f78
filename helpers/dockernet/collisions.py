"""A VPN-like route on the host, and a Docker network that collides with it (lesson 12).

A corporate VPN adds routes to the host: "everything in ``172.20.0.0/16`` goes into the
tunnel". A Docker network whose subnet overlaps that range adds a route of its own, more
specific, to its bridge, and the host sends what was meant for the office to the bridge.
On a shared classroom host the lab cannot route a real ``172.20.0.0/16`` (it would hijack
any real network in that range, and 30 learners would fight over it), so each learner's
"VPN" gets a range of its own, a ``/22`` of :data:`VPN_SPACE` (RFC 2544's benchmarking
range, never routed on the internet) that no Docker network and no host route uses.

The far end is the lab's outside world (:func:`dockernet.outside.outside_world`): a
``--network none`` container on a veth link of its own to the host, here called the
**office**. It gets the range's :data:`SERVER_INDEX`-th address as its own, and the host a
route to the whole range through it. The route lives on the outside link, so it goes
when the office's container goes (``lab.cleanup()``): the kernel deletes a link's routes
with the link. Before anything is sent from the host, its route is read (``ip route get``)
and the packet goes only out of the office link or one of this lesson's own bridges.

>>> import dockernet as dn
>>> from dockernet import collisions
>>> lab = dn.Lab("12-addresses-dns-mtu", quiet=True)
>>> vpn = collisions.vpn(lab)
>>> ipaddress.ip_address(vpn.server) in ipaddress.ip_network(vpn.range)
True
>>> bool(collisions.host_reach(lab, vpn)["reached"].iloc[0])
True
>>> _ = lab.cleanup()
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

import docker
import pandas as pd
from docker.types import IPAMConfig, IPAMPool

from . import addressing, hostview, outside, probe
from .errors import LabError
from .naming import SPEC, lab_labels, spec_hash

#: Where learners' "VPN" ranges come from: RFC 2544's benchmarking range, on no real network.
VPN_SPACE = "198.18.0.0/15"
#: One learner's VPN range: a /22 (128 learners fit; the story's VPN routes a /16).
VPN_PREFIX = 22
#: The story's range: a corporate VPN routing 172.20.0.0/16, one of Docker's default pools.
STORY_RANGE = "172.20.0.0/16"
#: The office server's address: this index into the learner's range.
SERVER_INDEX = 10
#: The outside world that plays the office at the far end of the tunnel.
OFFICE = "office"
#: Docker's default address pools (``default-address-pools``), moby's ipamutils, 20.10 to 28.
DEFAULT_POOLS = ({"base": "172.17.0.0/16", "size": 16}, {"base": "172.18.0.0/16", "size": 16},
                 {"base": "172.19.0.0/16", "size": 16}, {"base": "172.20.0.0/14", "size": 16},
                 {"base": "172.24.0.0/14", "size": 16}, {"base": "172.28.0.0/14", "size": 16},
                 {"base": "192.168.0.0/16", "size": 20})
REACH_COLUMNS = ["from", "to", "route dev", "route via", "reached", "answer"]


@dataclass
class Vpn:
    """The learner's VPN: its range, the office server in it, and the host's route there.

    Attributes:
        range (str): the routed range, e.g. ``"198.18.4.0/22"``.
        server (str): the office server's address in it.
        link (str): the host's interface towards the office (the "tunnel").
        gateway (str): the office's address on that link (the route's ``via``).
    """

    range: str
    server: str
    link: str
    gateway: str
    world: object = field(repr=False, default=None)

    def frame(self) -> pd.DataFrame:
        """The VPN as a one-row table."""
        return pd.DataFrame([{"VPN range": self.range, "office server": self.server,
                              "host route": f"{self.range} via {self.gateway} dev {self.link}"}])


# -- pure ----------------------------------------------------------------------------------


def route_prefixes(routes: list[dict]) -> list[ipaddress.IPv4Network]:
    """The IPv4 destinations of ``ip -j route show`` (the default route left out).

    >>> route_prefixes([{"dst": "default"}, {"dst": "10.1.0.0/24"}, {"dst": "192.0.2.7"}])
    [IPv4Network('10.1.0.0/24'), IPv4Network('192.0.2.7/32')]
    """
    found = []
    for route in routes:
        try:
            network = ipaddress.ip_network(route.get("dst", ""), strict=False)
        except ValueError:
            continue
        if network.version == 4 and network.prefixlen:
            found.append(network)
    return found


def free_range(taken, start_key: str, skip=(), space: str = VPN_SPACE,
               prefix: int = VPN_PREFIX) -> ipaddress.IPv4Network:
    """The first ``/prefix`` of ``space`` that overlaps nothing taken, starting at a place of
    the learner's own (``start_key``), so learners who ask at once get different ranges.

    >>> str(free_range([ipaddress.ip_network("198.18.0.0/22")], "", space="198.18.0.0/21"))
    '198.18.4.0/22'
    """
    return addressing.first_free(ipaddress.ip_network(space), prefix, taken,
                                 start_key=start_key, skip=skip)


def server_address(vpn_range: str) -> str:
    """The office server's address in a VPN range.

    >>> server_address("198.18.4.0/22")
    '198.18.4.10'
    """
    return str(ipaddress.ip_network(vpn_range)[SERVER_INDEX])


def clash_subnet(vpn_range: str) -> str:
    """The ``/24`` of the range that holds the office server: a Docker network there collides.

    >>> clash_subnet("198.18.4.0/22")
    '198.18.4.0/24'
    """
    return str(ipaddress.ip_network(f"{server_address(vpn_range)}/24", strict=False))


def pools_avoiding(avoid, pools=DEFAULT_POOLS) -> list[dict]:
    """``default-address-pools`` for daemon.json: Docker's defaults minus ``avoid``.

    Each pool that overlaps a range to avoid is cut around it (the rest keeps its
    ``size``, or the piece's own prefix when that is longer).

    Args:
        avoid: CIDRs your VPN (or LAN) routes, e.g. ``["172.20.0.0/16"]``.
        pools: the pools to start from (default: Docker's own).

    Raises:
        LabError: a CIDR that does not parse (nothing is computed).

    >>> [p["base"] for p in pools_avoiding(["172.20.0.0/16"])][3:6]
    ['172.21.0.0/16', '172.22.0.0/15', '172.24.0.0/14']
    """
    ranges = [addressing.parse_subnet(text, what="range to avoid") for text in avoid]
    result = []
    for pool in pools:
        pieces = [ipaddress.ip_network(pool["base"])]
        for bad in ranges:
            pieces = [rest for piece in pieces for rest in _without(piece, bad)]
        result += [{"base": str(piece), "size": max(pool["size"], piece.prefixlen)}
                   for piece in sorted(pieces)]
    return result


def _without(piece, bad):
    if not piece.overlaps(bad):
        return [piece]
    if bad.supernet_of(piece):
        return []
    return list(piece.address_exclude(bad))


def daemon_json(pools: list[dict] | None = None, bip: str | None = None) -> str:
    """The daemon.json lines for the fixes (``default-address-pools``, ``bip``), as text.

    >>> print(daemon_json([{"base": "10.99.0.0/16", "size": 24}], bip="10.98.0.1/24"))
    {
      "bip": "10.98.0.1/24",
      "default-address-pools": [
        {"base": "10.99.0.0/16", "size": 24}
      ]
    }
    """
    lines = ["{"]
    entries = []
    if bip:
        entries.append(f'  "bip": {json.dumps(bip)}')
    if pools is not None:
        body = ",\n".join(f'    {{"base": {json.dumps(p["base"])}, "size": {p["size"]}}}'
                          for p in pools)
        entries.append(f'  "default-address-pools": [\n{body}\n  ]')
    lines.append(",\n".join(entries))
    return "\n".join([*lines, "}"])


def overlaps_frame(networks: list[dict], vpn_range: str) -> pd.DataFrame:
    """The Docker networks (``client.api.networks()``) whose subnets overlap ``vpn_range``.

    >>> overlaps_frame([{"Name": "a", "IPAM": {"Config": [{"Subnet": "172.20.0.0/16"}]}},
    ...                 {"Name": "b", "IPAM": {"Config": [{"Subnet": "10.9.0.0/24"}]}}],
    ...                "172.20.0.0/16")["network"].tolist()
    ['a']
    """
    wanted = ipaddress.ip_network(vpn_range)
    rows = [{"network": net.get("Name"), "subnet": str(subnet), "VPN range": vpn_range}
            for net in networks for subnet, _ in addressing.ipv4_configs(net)
            if subnet.overlaps(wanted)]
    return pd.DataFrame(rows, columns=["network", "subnet", "VPN range"])


# -- live: the VPN ---------------------------------------------------------------------------


def labelled_network(lab, name: str, spec: dict, **create):
    """Get or create a lab network from raw docker-py ``networks.create`` arguments.

    For networks ``Lab.network`` does not make on purpose (a subnet it would refuse, IPv6).
    Labelled like every lab network, so ``lab.cleanup()`` removes it; an existing one of
    the same spec is returned, one of another spec replaced.

    Raises:
        docker.errors.APIError: the engine refused it (the caller explains).
    """
    existing = next((net for net in lab.networks() if lab.short_name(net) == name), None)
    if existing is not None:
        if existing.attrs["Labels"].get(SPEC) == spec_hash(spec):
            return existing
        lab.remove_network(existing)  # the lab's own way: disconnects its containers first
    labels = lab_labels(lab.learner, lab.lesson, lab.session, name, spec_hash(spec))
    return lab.client.networks.create(lab.name(name), labels=labels, check_duplicate=True,
                                      **create)


def _host_taken(lab) -> list[ipaddress.IPv4Network]:
    return [*route_prefixes(hostview.host_routes(lab)), *addressing.host_routes(),
            *(net for _, net in addressing.docker_subnets(lab.client))]


def _own_route(lab, link: str) -> str | None:
    """The VPN range already routed through ``link`` (a re-run), if any."""
    space = ipaddress.ip_network(VPN_SPACE)
    for route in hostview.host_routes(lab):
        if route.get("dev") == link:
            for network in route_prefixes([route]):
                if network.subnet_of(space) and network.prefixlen == VPN_PREFIX:
                    return str(network)
    return None


def vpn(lab) -> Vpn:
    """Get or build the learner's VPN: the office, its server address, the host's route.

    Returns:
        Vpn: the range, the server, the host's link and the route's gateway.

    Raises:
        LabError: no free range is left, or the route could not be added.
    """
    world = outside.outside_world(lab, OFFICE)
    chosen = _own_route(lab, world.host_if)
    tried = []
    for _attempt in range(8):  # bounded: another learner may take the same range at once
        if chosen:
            break
        candidate = free_range(_host_taken(lab), lab.learner, skip=tried)
        added = hostview.host_exec(lab, ["ip", "route", "add", str(candidate), "via",
                                         world.address, "dev", world.host_if])
        if added.ok:
            chosen = str(candidate)
        elif "File exists" in added.output:
            tried.append(candidate)  # someone routed it a moment ago: the next one
        else:
            raise LabError(f"adding the VPN route failed: {added.output[:300]}. "
                           "Run lab.cleanup() and try again.")
    if not chosen:
        raise LabError("no free VPN range after 8 tries: run lab.cleanup() and try again.")
    server = server_address(chosen)
    # The office's own address in the range: on its loopback, set from the host's PID
    # namespace (the office runs without NET_ADMIN). Its server listens on every address.
    pid = world.container.attrs["State"]["Pid"]
    wire = outside._wire(lab)  # the outside world's own helper: host network and PIDs
    probe.run(wire, ["nsenter", "-t", str(pid), "-n", "ip", "addr", "replace",
                     f"{server}/32", "dev", "lo"]).expect_success()
    return Vpn(chosen, server, world.host_if, world.address, world)


def lab_bridges(lab) -> set[str]:
    """The Linux bridges of this lesson's own bridge networks."""
    return {hostview.bridge_interface(net.attrs) for net in lab.networks()
            if net.attrs.get("Driver") == "bridge"}


def host_route(lab, address: str) -> dict:
    """The host's route to ``address`` (``ip -j route get``): ``dev``, ``via``, ``src``."""
    routes = hostview.host_routes(lab, address)
    first = routes[0] if routes else {}
    return {"dev": first.get("dev"), "via": first.get("gateway"), "src": first.get("prefsrc")}


def host_reach(lab, vpn_: Vpn, timeout: float = 2) -> pd.DataFrame:
    """Can the host reach the office server? The route is read first; the request is sent only
    when it leaves through the office link or one of this lesson's own bridges.

    Returns:
        pandas.DataFrame: :data:`REACH_COLUMNS`, one row.

    Raises:
        LabError: the route leaves by another interface (nothing is sent).
    """
    route = host_route(lab, vpn_.server)
    if route["dev"] not in {vpn_.link, *lab_bridges(lab)}:
        raise LabError(f"the host would send packets for {vpn_.server} out of {route['dev']}, "
                       "not the office link or a bridge of this lesson: nothing was sent. "
                       "Run collisions.vpn(lab) again.")
    result = probe.run(hostview.host_view(lab), ["curl", "-sS", "--connect-timeout",
                       f"{timeout:g}", "--max-time", f"{timeout + 2:g}",
                       f"http://{vpn_.server}/"], timeout=timeout + 3)
    return pd.DataFrame([{"from": "the host", "to": f"office {vpn_.server}",
                          "route dev": route["dev"], "route via": route["via"] or "",
                          "reached": result.ok, "answer": result.output[:80]}],
                        columns=REACH_COLUMNS)


def clashing_network(lab, vpn_: Vpn, name: str = "clash"):
    """Ask the engine for a bridge network with an explicit ``--subnet`` inside the VPN range.

    Returns:
        tuple: ``(network, None)`` when the engine accepted it, ``(None, reason)`` when it
        refused (nothing was made).
    """
    subnet = clash_subnet(vpn_.range)
    gateway = str(next(ipaddress.ip_network(subnet).hosts()))
    spec = {"driver": "bridge", "subnet": subnet, "purpose": "clash"}
    try:
        network = labelled_network(lab, name, spec, driver="bridge", ipam=IPAMConfig(
            pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)]))
    except docker.errors.APIError as exc:
        return None, str(exc.explanation or exc)
    return network, None


def engine_answer(lab, network, refusal: str | None, vpn_: Vpn) -> pd.DataFrame:
    """What the engine said to the clashing network, as a one-row table."""
    config = ((network.attrs.get("IPAM") or {}).get("Config") or [{}])[0] if network else {}
    return pd.DataFrame([{"engine": lab.client.version()["Version"],
                          "asked for": clash_subnet(vpn_.range), "VPN range": vpn_.range,
                          "answer": "accepted" if network is not None else "refused",
                          "subnet": config.get("Subnet", ""),
                          "bridge": hostview.bridge_interface(network.attrs) if network else "",
                          "reason": refusal or ""}])
