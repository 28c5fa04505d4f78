"""Subnets for lab networks: from the lab's own pool, never overlapping.

Docker's default pools hold about 31 networks, which a classroom uses up in
minutes, so lab networks take their subnets from a pool of their own
(``DOCKERNET_POOL``, default ``10.200.0.0/14`` cut into ``/24`` pieces: 1024
networks). A subnet is free when it overlaps no Docker network and no host route
this process can see. The pure functions here have no daemon; the lab passes
them what it read.

>>> pool = parse_pool("10.200.0.0/22")
>>> str(first_free(pool, 24, taken=[ipaddress.ip_network("10.200.0.0/24")]))
'10.200.1.0/24'
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Iterable, Iterator

from .errors import LabError

DEFAULT_POOL = "10.200.0.0/14"
DEFAULT_PREFIX = 24
#: Docker's default address pools (``docker network create`` with no subnet takes from these):
#: 172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 in /20 pieces.
DOCKER_DEFAULT_POOLS = (*(f"172.{second}.0.0/16" for second in range(17, 32)), "192.168.0.0/16")
#: Where :func:`propose_subnet` finds subnets for "a subnet you choose" exercises: private,
#: apart from Docker's default pools and from the default lab pool, and used by no common
#: default that we know of (4096 /24s, so 30 learners start far apart).
CHOICE_RANGE = "10.208.0.0/12"
IPv4Network = ipaddress.IPv4Network


def parse_pool(text: str | None = None) -> IPv4Network:
    """The lab pool, from the argument, ``DOCKERNET_POOL`` or the default."""
    text = text or os.environ.get("DOCKERNET_POOL") or DEFAULT_POOL
    pool = parse_subnet(text, what="DOCKERNET_POOL")
    if not pool.is_private:
        raise LabError(f"DOCKERNET_POOL {text} is not a private range: use one inside "
                       "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.")
    return pool


def parse_subnet(text: str, what: str = "subnet") -> IPv4Network:
    """Validate a learner's CIDR and say how to fix it.

    >>> parse_subnet("10.9.0.0/24")
    IPv4Network('10.9.0.0/24')
    >>> parse_subnet("10.9.0.1/24")
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: subnet '10.9.0.1/24' has host bits set: did you mean '10.9.0.0/24'?
    """
    if not isinstance(text, str) or "/" not in text:
        raise LabError(f"{what} {text!r} is not a CIDR: write it as ADDRESS/PREFIX, "
                       "for example '10.9.0.0/24'.")
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise LabError(f"{what} {text!r} is not a valid IPv4 CIDR: write it as ADDRESS/PREFIX "
                       "with four numbers 0-255 and a prefix 0-32, for example '10.9.0.0/24'."
                       ) from None
    if network.version != 4:
        raise LabError(f"{what} {text!r} is IPv6; the lab's networks use IPv4 CIDRs such as "
                       "'10.9.0.0/24'.")
    if str(network) != text.strip():
        raise LabError(f"{what} {text!r} has host bits set: did you mean '{network}'?")
    return network


def usable_hosts(network: IPv4Network) -> int:
    """Container addresses a Docker bridge subnet offers (network, broadcast, gateway excluded).

    >>> usable_hosts(ipaddress.ip_network("10.0.0.0/29"))
    5
    """
    return max(network.num_addresses - 3, 0)


def prefix_for_hosts(hosts: int) -> int:
    """The longest prefix whose subnet holds ``hosts`` containers.

    >>> prefix_for_hosts(250), prefix_for_hosts(300)
    (24, 23)
    """
    if hosts < 1:
        raise LabError(f"hosts={hosts}: ask for at least one container address.")
    for prefix in range(30, 7, -1):
        if usable_hosts(ipaddress.ip_network(f"10.0.0.0/{prefix}")) >= hosts:
            return prefix
    raise LabError(f"hosts={hosts} is more than one lab subnet can hold; ask for fewer.")


def check_capacity(network: IPv4Network, hosts: int | None) -> None:
    """Refuse a subnet too small for what is asked."""
    need = 1 if hosts is None else hosts
    have = usable_hosts(network)
    if have < need:
        raise LabError(
            f"subnet {network} holds {have} container addresses, but {need} are needed: use a "
            f"shorter prefix, for example /{min(prefix_for_hosts(need), network.prefixlen)} "
            f"({ipaddress.ip_network(f'{network.network_address}/{prefix_for_hosts(need)}', strict=False)})."
        )


def overlapping(candidate: IPv4Network, taken: Iterable[IPv4Network]) -> list[IPv4Network]:
    """The taken subnets that overlap ``candidate``."""
    return [net for net in taken if net.version == 4 and candidate.overlaps(net)]


def candidates(pool: IPv4Network, prefix: int, start_key: str = "") -> Iterator[IPv4Network]:
    """Every ``/prefix`` of the pool, starting at a place derived from ``start_key``.

    Starting each learner somewhere else keeps two learners who allocate at the
    same moment from racing for the same subnet (the daemon refuses the loser,
    who moves on).
    """
    if prefix < pool.prefixlen:
        raise LabError(f"a /{prefix} does not fit in the lab pool {pool}: ask for fewer hosts "
                       "or set DOCKERNET_POOL to a bigger range.")
    # Computed one at a time: a big range holds a great many small subnets.
    count = 2 ** (prefix - pool.prefixlen)
    size = 2 ** (32 - prefix)
    offset = int(hashlib.sha256(start_key.encode()).hexdigest(), 16) % count if start_key else 0
    base = int(pool.network_address)
    for step in range(count):
        yield IPv4Network((base + (offset + step) % count * size, prefix))


def first_free(pool: IPv4Network, prefix: int, taken: Iterable[IPv4Network],
               start_key: str = "", skip: Iterable[IPv4Network] = ()) -> IPv4Network:
    """The first subnet of the pool that overlaps nothing taken.

    Raises:
        LabError: the pool is full.
    """
    taken = [*taken, *skip]
    for candidate in candidates(pool, prefix, start_key):
        if not overlapping(candidate, taken):
            return candidate
    raise LabError(f"the lab pool {pool} has no free /{prefix} left: run "
                   "`python -m dockernet clean` or set DOCKERNET_POOL to a bigger private range.")


def propose_subnet(taken: Iterable[IPv4Network], prefix: int = DEFAULT_PREFIX,
                   start_key: str = "", lab_pool: IPv4Network | None = None,
                   within: str = CHOICE_RANGE) -> IPv4Network:
    """A ``/prefix`` of ``within`` that overlaps nothing taken, the lab pool nor Docker's pools.

    For exercises where the learner, not the lab, chooses a subnet: the answer lies
    outside the lab pool, so it reads as chosen. Each ``start_key`` (a learner id)
    starts at its own place in ``within``, so learners who ask at the same moment
    get different answers.

    Args:
        taken: subnets in use (Docker networks, host routes).
        prefix (int): the size, e.g. ``24``.
        start_key (str): where to start looking (the learner id).
        lab_pool (IPv4Network): the lab's pool, never proposed.
        within (str): the private range to look in (default :data:`CHOICE_RANGE`).

    Raises:
        LabError: a prefix that does not fit, or no free subnet left.

    >>> propose_subnet([ipaddress.ip_network("10.208.0.0/24")], within="10.208.0.0/23")
    IPv4Network('10.208.1.0/24')
    """
    space = parse_subnet(within, what="range")
    if not isinstance(prefix, int) or not space.prefixlen <= prefix <= 30:
        raise LabError(f"prefix={prefix!r}: ask for a subnet between /{space.prefixlen} and "
                       "/30, for example prefix=24 (253 container addresses).")
    reserved = [*(ipaddress.ip_network(pool) for pool in DOCKER_DEFAULT_POOLS),
                *([lab_pool] if lab_pool is not None else [])]
    busy = [*taken, *reserved]
    for candidate in candidates(space, prefix, start_key):
        if not overlapping(candidate, busy):
            return candidate
    raise LabError(f"no free /{prefix} is left in {space} outside the lab pool "
                   f"{lab_pool or DEFAULT_POOL}: remove networks you no longer need "
                   "(`python -m dockernet clean` removes the lab's), or pick a subnet yourself "
                   "from another private range.")


def ipv4_configs(network: dict) -> list[tuple[IPv4Network, dict]]:
    """``(subnet, IPAM config)`` for each IPv4 subnet of a ``docker network inspect`` dict.

    >>> ipv4_configs({"IPAM": {"Config": [{"Subnet": "fd00::/64"}, {"Subnet": "10.1.0.0/24"}]}})
    [(IPv4Network('10.1.0.0/24'), {'Subnet': '10.1.0.0/24'})]
    >>> ipv4_configs({"Name": "host", "IPAM": {"Config": []}})
    []
    """
    return subnet_configs(network, version=4)


def subnet_configs(network: dict, version: int) -> list[tuple[ipaddress._BaseNetwork, dict]]:
    """``(subnet, IPAM config)`` for each subnet of IP ``version`` (4 or 6) of a network dict;
    configs without a readable subnet are skipped.

    >>> subnet_configs({"IPAM": {"Config": [{"Subnet": "fd12::/64"}, {"Subnet": "x"}]}}, 6)
    [(IPv6Network('fd12::/64'), {'Subnet': 'fd12::/64'})]
    """
    found = []
    for config in (network.get("IPAM") or {}).get("Config") or []:
        try:
            subnet = ipaddress.ip_network(config.get("Subnet", ""), strict=False)
        except ValueError:
            continue
        if subnet.version == version:
            found.append((subnet, config))
    return found


def docker_subnets(client) -> list[tuple[str, IPv4Network]]:
    """``(network name, subnet)`` for every IPv4 subnet on this daemon, lab or not."""
    return [(net.get("Name", "?"), subnet) for net in client.api.networks()
            for subnet, _ in ipv4_configs(net)]


def host_routes(path: str = "/proc/net/route") -> list[IPv4Network]:
    """Routes of the host this process runs on (none on macOS/Windows).

    The default route is left out: every subnet overlaps it.
    """
    try:
        with open(path) as table:
            rows = table.read().splitlines()[1:]
    except OSError:
        return []
    routes = []
    for row in rows:
        fields = row.split()
        if len(fields) < 8:
            continue
        destination = ipaddress.IPv4Address(bytes.fromhex(fields[1])[::-1])
        mask = ipaddress.IPv4Address(bytes.fromhex(fields[7])[::-1])
        network = ipaddress.ip_network(f"{destination}/{mask}", strict=False)
        if network.prefixlen:
            routes.append(network)
    return routes
