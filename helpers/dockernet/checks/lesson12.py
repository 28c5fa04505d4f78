"""Self-checks and claims for lesson 12 (addresses, DNS and MTU in the real world).

As in :mod:`dockernet.checks.lesson08`: the claims check what a section says, on whatever
engine runs it, return what they were given (so a cell can show it) and raise
:class:`~dockernet.ExpectationFailed` when the engine disagrees; the exercises'
self-checks return a :class:`~dockernet.checks.CheckResult` whose hint never gives the
answer away.

>>> from dockernet.checks import lesson12
>>> lesson12.pools_avoid_vpn(lab, None).hint               # doctest: +ELLIPSIS
"Store your pools in pools: a list of dicts like {'base': CIDR, 'size': N}."
"""

from __future__ import annotations

import ipaddress

import pandas as pd

from .. import dualstack, mtu, upstream
from ..errors import LabError
from . import CheckResult, container_or_none, fail, verdict

#: Exercise 1: the routes a VPN client pushes (the story's range, and one of 192.168's).
EXERCISE_ROUTES = ("172.20.0.0/16", "192.168.32.0/20")
#: Exercise 1: a daemon's pools should still hold at least this many networks.
ENOUGH_NETWORKS = 31
#: The lesson's DNS names: the intranet server and the record the lab DNS server holds.
INTRANET, WIKI, LONELY = "intranet", "wiki", "lonely"
#: Section 7's dual-stack containers.
V6_NETWORK, V6_SERVER, V6_CLIENT = "v6-net", "web6", "client6"


# -- sections 1 to 3: the VPN and the clash ------------------------------------------------


def vpn_reached(table: pd.DataFrame, vpn) -> pd.DataFrame:
    """Sections 1 and 3: the host's route to the office goes into the tunnel, and it answers."""
    row = table.iloc[0]
    if row["route dev"] != vpn.link or not row["reached"]:
        fail(f"the host should reach the office {vpn.server} through {vpn.link}:\n{table}")
    return table


def engine_accepts(answer: pd.DataFrame) -> pd.DataFrame:
    """Section 2: Docker 20.10 to 28 accept an explicit ``--subnet`` that overlaps a host route
    (moby checks routes only when it picks a subnet itself)."""
    if answer["answer"].iloc[0] != "accepted":
        fail(f"this engine refused a subnet inside the VPN's range, which 20.10 to 28 accept: "
             f"{answer['reason'].iloc[0]}")
    return answer


def clash_breaks_vpn(table: pd.DataFrame, answer: pd.DataFrame) -> pd.DataFrame:
    """Section 3: the host now routes the office's address to the clashing bridge: no answer."""
    row = table.iloc[0]
    if row["route dev"] != answer["bridge"].iloc[0] or row["reached"]:
        fail(f"the host should now send the office's packets to {answer['bridge'].iloc[0]} "
             f"and get no answer:\n{table}")
    return table


# -- sections 4 and 5: DNS ---------------------------------------------------------------


def footer_as_this_engine_does(lab, container: str) -> pd.DataFrame:
    """Section 4: ``resolv.conf`` names 127.0.0.11 only, and from Docker 26.0 a footer lists the
    upstream (the ``--dns`` server, asked from the container); before 26.0 there is none."""
    conf = upstream.resolv_conf(lab, container)
    version = lab.client.version()["Version"]
    dns = lab.get_container(container).attrs["HostConfig"].get("Dns") or []
    footer = upstream.has_footer(version)
    if conf["nameserver"] != ["127.0.0.11"]:
        fail(f"{container}'s resolv.conf should name the embedded DNS only: {conf['nameserver']}")
    if footer and conf["ExtServers"] != dns:
        fail(f"Docker {version} should list {dns} as ExtServers, not {conf['ExtServers']}")
    if footer is False and conf["ExtServers"] is not None:
        fail(f"Docker {version} wrote an ExtServers footer, which came with 26.0")
    rows = [*upstream.resolv_rows(conf),
            {"line": "(docker inspect) HostConfig.Dns", "value": " ".join(dns) or "(none)"}]
    return pd.DataFrame(rows, columns=upstream.RESOLV_COLUMNS)


def asked_from_container(lab, table: pd.DataFrame, container: str,
                         network: str = "office-net") -> pd.DataFrame:
    """Section 4: the lab DNS server was asked for the wiki by the container's own address."""
    own = lab.ip(container, network)
    asked = table[table["name"] == upstream.fqdn(WIKI)]
    if asked.empty or set(asked["from"]) != {own}:
        fail(f"the DNS server should have been asked for {upstream.fqdn(WIKI)} by {container}'s "
             f"own address {own}:\n{table}")
    return table


# -- section 6: MTU ---------------------------------------------------------------------------


def _fetch_table(small, large) -> pd.DataFrame:
    return pd.DataFrame([{"page": page, "curl exit": result.exit_code,
                          "received": result.stdout or "", "seconds": round(result.elapsed, 1)}
                         for page, result in (("small", small), ("large", large))])


def mtu_mismatch(small, large) -> pd.DataFrame:
    """Section 6: through the narrow hop with its ICMP dropped, the small page loads and the
    large one hangs until curl's ``--max-time``."""
    if not small.ok or large.ok or not mtu.timed_out(large):
        fail(f"expected the small page to load and the large one to hang (curl exit 28):\n"
             f"{_fetch_table(small, large)}")
    return _fetch_table(small, large)


def mtu_fixed(small, large) -> pd.DataFrame:
    """Section 6: with ``inner`` at the narrow hop's MTU, both pages load."""
    if not (small.ok and large.ok):
        fail(f"with com.docker.network.driver.mtu both pages should load:\n"
             f"{_fetch_table(small, large)}")
    return _fetch_table(small, large)


# -- section 7: IPv6 -------------------------------------------------------------------------


def ipv6_where_possible(lab, network, why: str) -> pd.DataFrame | str:
    """Section 7: on a dual-stack network, two containers get IPv6 addresses, the embedded DNS
    answers AAAA for them and curl goes over IPv6; elsewhere, say why not."""
    if network is None:
        return f"No dual-stack network here: {why}."
    lab.hello_server(V6_SERVER, network=V6_NETWORK, bind="::")  # IPv6, and IPv4 too
    lab.run(V6_CLIENT, network=V6_NETWORK)
    table = dualstack.addresses(lab, [V6_SERVER, V6_CLIENT], V6_NETWORK)
    address = table["IPv6"].iloc[0]
    if not address or ipaddress.ip_address(address).version != 6:
        fail(f"{V6_SERVER} should have an IPv6 address on {V6_NETWORK}:\n{table}")
    answer = dualstack.aaaa(lab, V6_CLIENT, V6_SERVER).expect_success().stdout
    reached = dualstack.curl6(lab, V6_CLIENT, V6_SERVER).expect_success().stdout
    if answer != address or reached != address:
        fail(f"AAAA answer {answer!r} and curl -6's address {reached!r} should both be {address}")
    table["AAAA answer"] = [answer, ""]
    table["curl -6 connected to"] = [reached, ""]
    return table


# -- exercises ---------------------------------------------------------------------------------


def pools_avoid_vpn(lab, pools) -> CheckResult:
    """Exercise 1: default-address-pools that keep Docker out of :data:`EXERCISE_ROUTES` and
    still hold at least :data:`ENOUGH_NETWORKS` networks."""
    shape = "Store your pools in pools: a list of dicts like {'base': CIDR, 'size': N}."
    if not isinstance(pools, list) or not pools or not all(
            isinstance(p, dict) and set(p) == {"base", "size"} for p in pools):
        return CheckResult(False, shape)
    try:
        bases = [ipaddress.ip_network(p["base"]) for p in pools]
    except ValueError as exc:
        return CheckResult(False, f"A base does not parse: {exc}.")
    routes = [ipaddress.ip_network(r) for r in EXERCISE_ROUTES]
    clash = [str(b) for b in bases if any(b.overlaps(r) for r in routes)]
    sizes_ok = all(isinstance(p["size"], int) and b.prefixlen <= p["size"] <= 28
                   for p, b in zip(pools, bases))
    count = sum(2 ** (p["size"] - b.prefixlen) for p, b in zip(pools, bases)) if sizes_ok else 0
    return verdict([(all(b.is_private for b in bases), "Every base must be a private range."),
                    (not clash, f"{', '.join(clash)} still overlap(s) a VPN route: Docker could "
                                "hand that out. Cut the pool around the route."),
                    (sizes_ok, "Each size is the prefix of the networks cut from its base: at "
                               "least the base's own prefix, at most 28."),
                    (count >= ENOUGH_NETWORKS, f"These pools hold {count} networks; keep at least "
                                               f"{ENOUGH_NETWORKS}, as Docker's defaults do.")],
                   praise=f"Docker can never pick a subnet in the VPN's ranges ({count} networks)")


def lonely_resolves(lab) -> CheckResult:
    """Exercise 2: ``lonely`` resolves the wiki, and its ``--dns`` is still 127.0.0.1."""
    box = container_or_none(lab, LONELY)
    if box is None:
        return CheckResult(False, f"Run section 5 first: it starts {LONELY}.")
    try:
        expected = lab.ip(INTRANET, "office-net")
    except LabError as exc:
        return CheckResult(False, f"Run section 4 first: {exc}")
    dns = box.attrs["HostConfig"].get("Dns") or []
    answer = lab.lookup(LONELY, upstream.fqdn(WIKI)).output.split()
    return verdict([(dns == ["127.0.0.1"], f"{LONELY}'s --dns is {dns} now: keep 127.0.0.1 and "
                                           "make something answer there."),
                    (answer[:1] == [expected], f"{LONELY} still cannot resolve "
                                               f"{upstream.fqdn(WIKI)}: which namespace's "
                                               "127.0.0.1 does the embedded DNS ask?")],
                   praise=f"{LONELY} resolves {upstream.fqdn(WIKI)} through its own loopback")
