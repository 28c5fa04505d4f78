"""A dual-stack lab network: IPv4 and an IPv6 ULA subnet of the learner's own (lesson 12).

``docker network create --ipv6 --subnet 10.x.y.0/24 --subnet fdXX:...::/64 NAME`` gives
every container on it an IPv6 address too, and the embedded DNS answers AAAA questions
for their names. A user-defined network needs no daemon setting for it: only the default
bridge needs ``"ipv6": true`` in daemon.json (measured on Docker 20.10.24 and 28.5.2).
Docker 27 and later also pick an IPv6 subnet themselves when none is given; the lab
always gives one.

The IPv6 subnet is a Unique Local Address (``fd00::/8``, RFC 4193: private, like
``10.0.0.0/8``): a ``/64`` whose 40-bit global ID comes from the learner's id, checked
against every IPv6 subnet of the daemon's networks and the host's IPv6 routes, and never
under ``fd00::/16``, which small networks and this course's own machines often use.

A kernel without IPv6 or an engine that refuses takes the graceful path: :func:`network`
returns ``None`` and the reason, and the lesson explains instead of failing.

>>> import dockernet as dn
>>> from dockernet import dualstack
>>> lab = dn.Lab("12-addresses-dns-mtu", quiet=True)
>>> net, why = dualstack.network(lab, "v6-net")
>>> net is not None or why != ""
True
>>> _ = lab.cleanup()
"""

from __future__ import annotations

import hashlib
import ipaddress

import docker
import pandas as pd
from docker.types import IPAMConfig, IPAMPool

from . import addressing, collisions, hostview, probe

#: Where the lab's ULAs come from, and the part of it left alone.
ULA_SPACE, AVOID = ipaddress.ip_network("fd00::/8"), ipaddress.ip_network("fd00::/16")
ADDRESS_COLUMNS = ["container", "IPv4", "IPv6"]


def ula_candidates(key: str, count: int = 16):
    """ULA ``/64`` subnets for ``key`` (a learner id), the first derived from it.

    >>> first = next(ula_candidates("r12"))
    >>> first.prefixlen, first.subnet_of(ULA_SPACE), first.subnet_of(AVOID)
    (64, True, False)
    """
    for attempt in range(count):
        digest = hashlib.sha256(f"{key}\0{attempt}".encode()).digest()
        global_id = int.from_bytes(digest[:5], "big")
        subnet = ipaddress.IPv6Network(((0xFD << 120) | (global_id << 80), 64))
        if not subnet.subnet_of(AVOID):
            yield subnet


def free_ula(taken, key: str) -> ipaddress.IPv6Network | None:
    """The first of :func:`ula_candidates` that overlaps nothing ``taken`` (IPv6 networks).

    >>> first = next(ula_candidates("r12"))
    >>> free_ula([first], "r12") != first
    True
    """
    busy = [net for net in taken if net.version == 6]
    return next((c for c in ula_candidates(key) if not any(c.overlaps(b) for b in busy)), None)


def ipv6_subnets(networks: list[dict]) -> list[ipaddress.IPv6Network]:
    """The IPv6 subnets of ``client.api.networks()``.

    >>> ipv6_subnets([{"IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}, {"Subnet": "fd12::/64"}]}}])
    [IPv6Network('fd12::/64')]
    """
    return [subnet for net in networks for subnet, _ in addressing.subnet_configs(net, version=6)]


def address_rows(containers: dict[str, dict], network: str) -> list[dict]:
    """Each container's IPv4 and IPv6 address on ``network`` (from ``docker inspect``).

    >>> address_rows({"a": {"NetworkSettings": {"Networks": {"n": {"IPAddress": "10.1.0.2",
    ...               "GlobalIPv6Address": "fd12::2"}}}}}, "n")
    [{'container': 'a', 'IPv4': '10.1.0.2', 'IPv6': 'fd12::2'}]
    """
    rows = []
    for name, attrs in containers.items():
        endpoint = (attrs["NetworkSettings"]["Networks"] or {}).get(network) or {}
        rows.append({"container": name, "IPv4": endpoint.get("IPAddress") or "",
                     "IPv6": endpoint.get("GlobalIPv6Address") or ""})
    return rows


# -- live ----------------------------------------------------------------------------------


def kernel_ipv6(lab) -> bool:
    """Whether the Docker host's kernel has IPv6 (``/proc/sys/net/ipv6`` in its namespace)."""
    return hostview.host_exec(lab, ["test", "-d", "/proc/sys/net/ipv6"]).ok


def network(lab, name: str = "v6-net"):
    """Get or create a dual-stack lab network (a lab IPv4 subnet and the learner's ULA /64).

    Returns:
        tuple: ``(network, "")``, or ``(None, reason)`` when this host cannot have one
        (nothing is made).
    """
    existing = next((n for n in lab.networks() if lab.short_name(n) == name), None)
    if existing is not None and existing.attrs.get("EnableIPv6"):
        return existing, ""
    if not kernel_ipv6(lab):
        return None, "the Docker host's kernel has no IPv6 (no /proc/sys/net/ipv6)"
    routes = hostview._host_json(lab, ["ip", "-j", "-6", "route", "show"], "the IPv6 routes")
    taken = [*ipv6_subnets(lab.client.api.networks()),
             *(ipaddress.ip_network(r["dst"], strict=False) for r in routes
               if r.get("dst", "default") not in ("default",) and ":" in r.get("dst", ""))]
    ula = free_ula(taken, lab.learner)
    if ula is None:
        return None, "no free ULA /64 for this learner (every candidate is in use)"
    spec = {"driver": "bridge", "ipv6": True, "purpose": "dual-stack"}
    tried = []
    for _attempt in range(8):  # bounded: another learner may take the IPv4 subnet at once
        busy = [net for _, net in addressing.docker_subnets(lab.client)] + addressing.host_routes()
        ipv4 = addressing.first_free(lab.pool, addressing.DEFAULT_PREFIX, busy,
                                     start_key=lab.learner, skip=tried)
        pools = [IPAMPool(subnet=str(ipv4), gateway=str(next(ipv4.hosts()))),
                 IPAMPool(subnet=str(ula), gateway=str(next(ula.hosts())))]
        try:
            made = collisions.labelled_network(lab, name, spec, driver="bridge",
                                               enable_ipv6=True,
                                               ipam=IPAMConfig(pool_configs=pools))
            break
        except docker.errors.APIError as exc:
            if "overlap" not in str(exc).lower():
                return None, f"the engine refused an IPv6 network: {exc.explanation or exc}"
            tried.append(ipv4)
    else:
        return None, "no free IPv4 subnet for it after 8 tries: run lab.cleanup() and retry"
    made.reload()
    return made, ""


def addresses(lab, containers, network_name: str) -> pd.DataFrame:
    """The containers' IPv4 and IPv6 addresses on a lab network."""
    real = lab.get_network(network_name).name
    attrs = {}
    for container in containers:
        found = lab.get_container(container)
        found.reload()
        attrs[container] = found.attrs
    return pd.DataFrame(address_rows(attrs, real), columns=ADDRESS_COLUMNS)


def aaaa(lab, container, name: str) -> probe.ProbeResult:
    """Ask the container's DNS (the embedded one on a lab network) for ``name``'s AAAA record."""
    return lab.exec(container, ["dig", "+short", "+time=2", "+tries=1", "AAAA", name], timeout=4)


def curl6(lab, container, target: str, port: int = 8000, timeout: float = 3) -> probe.ProbeResult:
    """``curl -6`` from ``container`` to ``target`` (a name, or an IPv6 address): IPv6 only.

    The output is the address curl connected to.
    """
    host = f"[{target}]" if ":" in target else target
    return probe.heard(lab.exec(container, [
        "curl", "-6", "-g", "-sS", "-o", "/dev/null", "-w", "%{remote_ip}", "--connect-timeout",
        f"{timeout:g}", "--max-time", f"{timeout + 3:g}", f"http://{host}:{port}/"],
        timeout=timeout + 4))
