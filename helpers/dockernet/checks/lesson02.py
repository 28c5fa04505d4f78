"""Self-checks for lesson 02 (user-defined bridges): hints, never the answer.

Each check reads the daemon's live state (and, where the exercise is about
names, asks the container's own resolver), then returns a
:class:`~dockernet.checks.CheckResult` that names the first thing still wrong.
A claim (``*_holds``) checks what a section of the lesson says, on whatever engine
runs it, and raises :class:`~dockernet.ExpectationFailed` when the engine disagrees.

>>> from dockernet.checks import lesson02
>>> lesson02.exercise_net(lab)                        # doctest: +ELLIPSIS
CheckResult(passed=False, hint="There is no lab network called 'exercise-net' yet: ...")
"""

from __future__ import annotations

import ipaddress

from .. import firewall, hostview
from ..addressing import ipv4_configs
from ..errors import ExpectationFailed, LabError, UnknownObject
from ..naming import BUILTIN_NETWORKS
from . import CheckResult, container_or_none, verdict

EXERCISE_NET = "exercise-net"
EXERCISE_MEMBERS = ("helloworld2", "db")
ALIAS = "api"


def _endpoints(container) -> dict:
    """``{docker network name: endpoint dict}`` of a container, freshly read."""
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"] or {}


def _subnet(network) -> ipaddress.IPv4Network | None:
    configs = ipv4_configs(network.attrs)
    return configs[0][0] if configs else None


def _addresses(lookup_result) -> set[str]:
    """The addresses of a ``getent hosts`` answer: the first field of each line."""
    return {line.split()[0] for line in lookup_result.output.splitlines() if line.split()}


def _names(names) -> str:
    """``"db is"`` or ``"helloworld2 and db are"``: the start of a hint about containers."""
    names = list(names)
    if len(names) < 2:
        return f"{names[0]} is" if names else ""  # hints are built before they are needed
    return f"{', '.join(names[:-1])} and {names[-1]} are"



def exercise_net(lab) -> CheckResult:
    """Exercise 1: ``exercise-net`` is a bridge with a subnet the learner chose,
    ``helloworld2`` and ``db`` are attached, and ``db`` reaches ``helloworld2`` by name.

    Args:
        lab (dockernet.Lab): the lesson's lab.
    """
    try:
        network = lab.get_network(EXERCISE_NET)
    except UnknownObject:
        return CheckResult(False, f"There is no lab network called {EXERCISE_NET!r} yet: "
                                  "lab.network() creates one (the name is its first argument).")
    network.reload()
    subnet = _subnet(network)
    members = {lab.short_name(c): c for c in
               (container_or_none(lab, name) for name in EXERCISE_MEMBERS) if c is not None}
    missing_containers = [name for name in EXERCISE_MEMBERS if name not in members]
    attached = set((network.attrs.get("Containers") or {}).keys())
    not_attached = [name for name, c in members.items() if c.id not in attached]
    first = [
        (network.attrs.get("Driver") == "bridge",
         f"{EXERCISE_NET!r} uses the {network.attrs.get('Driver')!r} driver; this lesson is "
         "about the bridge driver."),
        (subnet is not None and not subnet.subnet_of(lab.pool),
         f"Its subnet {subnet} lies in the lab's own pool {lab.pool}, so it looks picked for "
         "you: pass the subnet argument with a CIDR you chose, outside that pool "
         "(lab.free_subnet() proposes a free one)."),
        (not missing_containers,
         f"{_names(missing_containers)} not in this lesson any more: re-run the cells of "
         "sections 1 and 8 that create them."),
        (not not_attached,
         f"{_names(not_attached)} not attached to {EXERCISE_NET!r} (a network only carries "
         "traffic for the containers attached to it)."),
    ]
    result = verdict(first)
    if not result:
        return result
    # Only now ask the resolver: every piece is in place, so a failure here is about names.
    db, helloworld2 = members["db"], members["helloworld2"]
    address = (_endpoints(helloworld2).get(network.name) or {}).get("IPAddress")
    answer = lab.curl(db, "http://helloworld2:8000", timeout=2)
    resolved = lab.lookup(db, "helloworld2", timeout=2)
    return verdict([
        (resolved.ok and address in _addresses(resolved),
         "db cannot resolve 'helloworld2' to its exercise-net address: the short name is a "
         "network alias, which the lab adds when it attaches a container to a lab network "
         "(the raw docker SDK does not)."),
        (answer.ok, f"db resolves helloworld2 but curl failed: {answer.output[:200]}"),
    ], praise=f"{EXERCISE_NET} ({subnet}) carries db -> helloworld2 by name.")


def api_alias(lab) -> CheckResult:
    """Exercise 2: from ``helloworld``, the name ``api`` resolves to ``helloworld2``.

    Args:
        lab (dockernet.Lab): the lesson's lab.
    """
    helloworld = container_or_none(lab, "helloworld")
    helloworld2 = container_or_none(lab, "helloworld2")
    if helloworld is None or helloworld2 is None:
        return CheckResult(False, "helloworld or helloworld2 is gone: re-run section 1 first.")
    client_side = _endpoints(helloworld)
    server_side = _endpoints(helloworld2)
    shared = [name for name in server_side if name in client_side
              and name not in BUILTIN_NETWORKS]
    if not shared:
        return CheckResult(False, "helloworld and helloworld2 share no user-defined network, so "
                                  "helloworld's DNS server (127.0.0.11) cannot know any name of "
                                  "helloworld2.")
    with_alias = [name for name in shared if ALIAS in (server_side[name].get("Aliases") or [])]
    if not with_alias:
        short = {n.name: lab.short_name(n) for n in lab.networks()}
        aliases = {short.get(name, name): sorted(a for a in server_side[name].get("Aliases") or []
                                                 if not helloworld2.id.startswith(a))
                   for name in shared}
        return CheckResult(False, f"On the network(s) they share, helloworld2 answers to "
                                  f"{aliases}, but not to {ALIAS!r}. Aliases are given per "
                                  "network, when a container is attached to it.")
    addresses = {server_side[name].get("IPAddress") for name in with_alias}
    resolved = lab.lookup(helloworld, ALIAS, timeout=2)
    got = _addresses(resolved) if resolved.ok else set()
    return verdict([
        (resolved.ok, f"helloworld2 has the alias, but helloworld's lookup of {ALIAS!r} failed: "
                      f"{resolved.output[:200] or 'no answer'}"),
        (got and got <= addresses,
         f"From helloworld, {ALIAS!r} resolves to {sorted(got)}, and not only to helloworld2 "
         f"({sorted(addresses)}): does another container share the alias?"),
    ], praise=f"helloworld resolves {ALIAS!r} to helloworld2 ({', '.join(sorted(got))}).")


def _bridge(lab, network: str) -> str:
    """The Linux bridge of a lab network or of Docker's default ``bridge``."""
    found = lab.client.networks.get(network) if network in BUILTIN_NETWORKS \
        else lab.get_network(network)
    if found.attrs.get("Driver") != "bridge":
        raise LabError(f"{network!r} is a {found.attrs.get('Driver')} network, not a bridge: "
                       "isolation between bridges is about bridge networks.")
    return hostview.bridge_interface(found.attrs)


def isolation_rules_hold(lab, networks=("my-net", "bridge")):
    """Section 9's claim: the engine's firewall keeps each of ``networks`` apart from the
    other bridge networks, in whichever form this engine wrote the rules.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        networks (list of str): lab networks, or ``"bridge"`` for Docker's default one.

    Returns:
        pandas.DataFrame: the rules (:func:`dockernet.firewall.isolation`); ``attrs``
        name the backend, the forms (``attrs["forms"]``) and ``{network: bridge}``
        (``attrs["bridges"]``).

    Raises:
        ExpectationFailed: a network's bridge has no rule that keeps other networks out.
    """
    bridges = {network: _bridge(lab, network) for network in networks}
    found = firewall.isolation(lab, bridges.values())
    open_bridges = [f"{network} ({bridge})" for network, bridge in bridges.items()
                    if not found.attrs["isolated"][bridge]]
    if open_bridges:
        raise ExpectationFailed(f"the host's {found.attrs['backend']} rules keep nothing away "
                                f"from {', '.join(open_bridges)}: firewall.rules(lab, "
                                "table='filter') lists them all.")
    found.attrs["bridges"] = bridges
    return found
