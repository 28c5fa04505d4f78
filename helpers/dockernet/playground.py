"""A topology playground: pick a driver, a subnet size, containers and networks; see it live.

The learner chooses a driver, a prefix length, how many networks and containers, and
which networks each container joins. :func:`plan` checks every choice first and raises
one :class:`~dockernet.LabError` with the fix, so bad input creates nothing;
:func:`apply` then rebuilds only the playground's own objects (short names starting
with :data:`PREFIX`: ``pg-net1``, ``pg-c1``... under the learner's namespace, so
``lab.cleanup()`` removes them with the rest), and :func:`views` reads back what Docker
made: the endpoints table, the topology and who can ping whom. The widgets are in
:mod:`dockernet.playgroundviews` (``network_playground``).

>>> import dockernet as dn
>>> from dockernet import playground
>>> lab = dn.Lab("02-user-defined-bridge", quiet=True)
>>> chosen = playground.plan("bridge", 29, [[True, False], [True, True], [False, True]])
>>> chosen.memberships
{'pg-c1': ('pg-net1',), 'pg-c2': ('pg-net1', 'pg-net2'), 'pg-c3': ('pg-net2',)}
>>> playground.apply(lab, chosen)
>>> table, matrix = playground.views(lab, chosen)
>>> sorted(table.network.unique()), table.prefix.unique().tolist()
(['pg-net1', 'pg-net2'], [29])
>>> bool(matrix.loc["pg-c1", "pg-c2"]), bool(matrix.loc["pg-c1", "pg-c3"])   # shared net; none
(True, False)
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from . import addressing, probe, tables
from .engines import parse_version
from .errors import LabError
from .isolation import ICC_OFF

#: Every playground object's short name starts with this: the playground touches no other.
PREFIX = "pg-"
MAX_CONTAINERS = 6
MAX_NETWORKS = 3
#: Prefix lengths offered: a /24 holds 253 containers, a /30 one (network, broadcast and
#: gateway take the other three), all cut from the lab's pool by ``lab.network``.
PREFIXES = tuple(range(24, 31))
#: Seconds per ping in the matrix; a dropped one costs all of it, so probes run in parallel.
PING_TIMEOUT = 1
#: Docker 27.0 let several macvlan networks share one parent (moby commit 528ffa9c, "Allow
#: multiple macvlan networks to share a parent"); before, the second one is refused.
MACVLAN_SHARED_PARENT = (27, 0, 0)


@dataclass(frozen=True)
class Driver:
    """One choice of the driver menu: how its networks are created."""

    label: str
    driver: str = "bridge"
    internal: bool = False
    options: dict = field(default_factory=dict)


DRIVERS = {
    "bridge": Driver("bridge: a user-defined bridge"),
    "internal": Driver("internal: a bridge with no way out", internal=True),
    "icc-off": Driver("icc-off: a bridge whose neighbours cannot talk", options=dict(ICC_OFF)),
    "macvlan": Driver("macvlan: on the lab's parent link (lesson 08)", driver="macvlan"),
}
#: The drivers each lesson's playground offers, the first being the default.
LESSON_DRIVERS = {"02": ("bridge", "internal", "icc-off"), "08": ("macvlan", "bridge"),
                  "11": ("bridge", "internal", "icc-off")}


@dataclass(frozen=True)
class Plan:
    """A checked playground: what :func:`apply` builds."""

    driver: str
    prefix: int
    networks: tuple
    memberships: dict  # container -> its networks, the first one it starts on

    @property
    def containers(self) -> list[str]:
        return list(self.memberships)


def container_names(count: int) -> list[str]:
    """The playground's container names.

    >>> container_names(2)
    ['pg-c1', 'pg-c2']
    """
    return [f"{PREFIX}c{i}" for i in range(1, count + 1)]


def network_names(count: int) -> list[str]:
    """The playground's network names.

    >>> network_names(2)
    ['pg-net1', 'pg-net2']
    """
    return [f"{PREFIX}net{i}" for i in range(1, count + 1)]


def default_grid(containers: int, networks: int) -> list[list[bool]]:
    """Who joins what when nothing was ticked yet: containers spread over the networks,
    the middle one on two neighbouring networks (a bridge between them).

    >>> default_grid(3, 2)
    [[True, False], [True, True], [False, True]]
    """
    grid = [[False] * networks for _ in range(containers)]
    for i, row in enumerate(grid):
        if networks:
            row[i * networks // containers] = True
            if i == containers // 2 and i * networks // containers + 1 < networks:
                row[i * networks // containers + 1] = True
    return grid


def plan(driver: str, prefix: int, grid, *, offered=tuple(DRIVERS),
         unavailable: dict | None = None, max_networks: dict | None = None) -> Plan:
    """Check a playground's choices before anything touches Docker.

    Args:
        driver (str): a key of :data:`DRIVERS`.
        prefix (int): the subnet's prefix length, one of :data:`PREFIXES`.
        grid (list of list of bool): one row per container, one column per network:
            ``grid[i][j]`` is True when container ``i`` joins network ``j``. Its size
            gives the number of containers and networks.
        offered: the drivers this lesson offers.
        unavailable (dict): ``{driver: why}`` for drivers this host cannot build.
        max_networks (dict): ``{driver: n}`` where a driver allows fewer networks.

    Returns:
        Plan

    Raises:
        LabError: the first problem found, with the fix; nothing is created.

    >>> plan("bridge", 30, [[True], [True]])    # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: pg-net1: a /30 subnet holds 1 container address, but 2 ... /29 ...
    """
    if driver not in offered:
        raise LabError(f"driver {driver!r} is not offered here: choose one of {', '.join(offered)}.")
    if driver in (unavailable or {}):
        raise LabError(f"{driver} is not available here: {unavailable[driver]} Choose another driver.")
    if prefix not in PREFIXES:
        raise LabError(f"prefix /{prefix}: choose /{PREFIXES[0]} to /{PREFIXES[-1]} (the lab cuts "
                       "it from its pool).")
    rows = [list(row) for row in grid]
    if not 1 <= len(rows) <= MAX_CONTAINERS:
        raise LabError(f"{len(rows)} containers: choose 1 to {MAX_CONTAINERS}.")
    count = len(rows[0])
    if any(len(row) != count for row in rows):
        raise LabError("every container needs one tick box per network: build the grid again.")
    if count == 0:
        raise LabError("zero networks: a container needs a network to join. Choose 1 to "
                       f"{MAX_NETWORKS} networks.")
    limit = min(MAX_NETWORKS, (max_networks or {}).get(driver, MAX_NETWORKS))
    if count > limit:
        why = {"macvlan": " (Docker before 27.0 allows one macvlan network per parent link)"}
        raise LabError(f"{count} {driver} networks: this engine allows {limit} here"
                       f"{why.get(driver, '')}. Choose {limit}.")
    networks, containers = network_names(count), container_names(len(rows))
    memberships = {}
    for name, row in zip(containers, rows):
        joined = tuple(net for net, ticked in zip(networks, row) if ticked)
        if not joined:
            raise LabError(f"{name} is on no network: tick at least one for it (a container "
                           "with no network at all is lesson 06's --network none).")
        memberships[name] = joined
    room = addressing.usable_hosts(ipaddress.ip_network(f"10.0.0.0/{prefix}"))
    for net in networks:
        members = sum(net in joined for joined in memberships.values())
        if members > room:
            plural = "address" if room == 1 else "addresses"
            raise LabError(f"{net}: a /{prefix} subnet holds {room} container {plural}, but "
                           f"{members} containers join it: choose "
                           f"/{addressing.prefix_for_hosts(members)} or a shorter prefix, or "
                           "fewer containers.")
    return Plan(driver, prefix, tuple(networks), memberships)


def ping_targets(addresses: dict) -> dict:
    """The address each source pings for each target: on a network they share if any
    (the target's first such one), else the target's first address, which shows that
    a network you are not on is out of reach.

    Args:
        addresses (dict): ``{container: {network: ipv4}}``, networks in order.

    Returns:
        dict: ``{(source, target): address or None}``.

    >>> targets = ping_targets({"a": {"n1": "10.0.0.2"}, "b": {"n1": "10.0.0.3", "n2": "10.0.1.2"},
    ...                         "c": {"n2": "10.0.1.3"}})
    >>> targets[("a", "c")], targets[("c", "b")]
    ('10.0.1.3', '10.0.1.2')
    """
    targets = {}
    for source, mine in addresses.items():
        for target, theirs in addresses.items():
            shared = [net for net in theirs if net in mine]
            pick = shared[0] if shared else next(iter(theirs), None)
            targets[(source, target)] = theirs.get(pick) if pick else None
    return targets


# -- on the daemon -------------------------------------------------------------------------


def macvlan_limit(lab, version: str | None) -> tuple[int, str]:
    """How many playground macvlan networks the lab's parent takes here, and why not if 0.

    Before Docker 27.0 a parent link carries one macvlan network: when one of the lesson's
    (lesson 08's ``lan``) already hangs off the parent, the playground gets none.
    """
    from . import hostlinks  # lesson 08's links: only the macvlan choice needs them

    parent = hostlinks.link_names(lab.learner, lab.lesson)["parent"]
    number = parse_version(version)
    if number is None or number >= MACVLAN_SHARED_PARENT:
        return MAX_NETWORKS, ""
    busy = [lab.short_name(net) for net in lab.networks()
            if not lab.short_name(net).startswith(PREFIX)
            and (net.attrs.get("Options") or {}).get("parent") == parent]
    if busy:
        return 0, (f"{', '.join(busy)} already hangs off the lab's parent link {parent}, and "
                   f"Docker {version} allows one macvlan network per parent (27.0 lifted that).")
    return 1, ""


def _remove_surplus(lab, chosen: Plan) -> None:
    """Remove the playground's containers and networks that the plan no longer has."""
    for container in lab.containers():
        name = lab.short_name(container)
        if name.startswith(PREFIX) and name not in chosen.memberships:
            lab.client.api.remove_container(container.id, force=True)
    for network in lab.networks():
        name = lab.short_name(network)
        if name.startswith(PREFIX) and name not in chosen.networks:
            lab.remove_network(network)  # disconnects the lab's containers, then removes


def apply(lab, chosen: Plan) -> None:
    """Make the lab's playground objects what ``chosen`` says, touching nothing else.

    Networks whose driver or size changed are replaced (``lab.network`` compares specs),
    containers are reused where they can be and connected or disconnected as ticked.
    """
    kind = DRIVERS[chosen.driver]
    options = dict(kind.options)
    extra = {}
    if kind.driver == "macvlan":
        from . import hostlinks

        options["parent"] = hostlinks.parent(lab)
        extra["gateway"] = None  # as lesson 08's lan: no router on the lab's wire
    _remove_surplus(lab, chosen)
    hosts = addressing.usable_hosts(ipaddress.ip_network(f"10.0.0.0/{chosen.prefix}"))

    def network(net):
        # Two at once may pick the same free subnet: the daemon refuses one, which moves on.
        return lab.network(net, hosts=hosts, driver=kind.driver, internal=kind.internal,
                           options=options or None, **extra)

    def container(item):
        name, joined = item
        made = lab.run(name, network=joined[0])
        current = {net for net in chosen.networks
                   if lab.name(net) in (made.attrs["NetworkSettings"]["Networks"] or {})}
        for net in sorted(current - set(joined)):
            lab.disconnect(name, net)
        for net in joined[1:]:
            if net not in current:
                lab.connect(name, net)

    # At most a few objects, built side by side: a busy daemon answers each one slowly.
    with ThreadPoolExecutor(max_workers=MAX_NETWORKS) as pool:
        list(pool.map(network, chosen.networks))
    with ThreadPoolExecutor(max_workers=MAX_CONTAINERS) as pool:
        list(pool.map(container, chosen.memberships.items()))


def views(lab, chosen: Plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What Docker made: the endpoints table and who can ping whom (rows: from, columns: to).

    The matrix pings each target on a network the two share (else on its first), twice in
    a row for a yes, as ``lab.reachability`` does; ``lab.reachability`` itself uses one
    network for every target, which would call two containers that share another network
    apart.
    """
    table = tables.endpoints(lab, containers=chosen.containers)
    addresses = {name: {} for name in chosen.containers}
    for row in table.itertuples():
        if isinstance(row.ipv4, str):
            addresses[row.container][row.network] = row.ipv4
    for name in addresses:  # in the plan's order: the first network is the one it started on
        addresses[name] = {net: addresses[name][net] for net in chosen.memberships[name]
                           if net in addresses[name]}
    targets = ping_targets(addresses)
    containers = {name: lab.get_container(name) for name in chosen.containers}

    def reaches(pair) -> bool:
        address = targets[pair]
        if address is None:
            return False
        result = probe.ping(containers[pair[0]], address, timeout=PING_TIMEOUT)
        return result.ok and result.rerun().ok

    pairs = list(targets)
    with ThreadPoolExecutor(max_workers=min(8, len(pairs))) as pool:
        outcome = dict(zip(pairs, pool.map(reaches, pairs)))
    names = chosen.containers
    matrix = pd.DataFrame([[outcome[(s, t)] for t in names] for s in names],
                          index=pd.Index(names, name="from"), columns=pd.Index(names, name="to"))
    return table, matrix


def network_playground(lab, **choices):
    """The widgets: :func:`dockernet.playgroundviews.network_playground` (same arguments)."""
    from .playgroundviews import network_playground as build

    return build(lab, **choices)
