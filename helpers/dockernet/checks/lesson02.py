"""Self-checks and claims for lesson 02 (user-defined bridges).

Exercise checks (:func:`names_prediction`, :func:`exercise_net`, :func:`api_alias`)
read the daemon's live state, and where the exercise is about names they ask the
container's own resolver; each returns a :class:`~dockernet.checks.CheckResult`
that names the first thing still wrong: a hint, never the answer.

Claims (``*_holds``, :func:`matrix_follows_networks`) check what a section of the
lesson says, on whatever engine runs it, and raise :class:`~dockernet.ExpectationFailed`
when the engine disagrees, as ``expect_success()`` does for a probe.

>>> from dockernet.checks import lesson02
>>> lesson02.exercise_net(lab, "...")                  # doctest: +ELLIPSIS
CheckResult(passed=False, hint="`subnet` is '...': ...")
"""

from __future__ import annotations

import ipaddress
import json
import re

import docker
import pandas as pd
from docker.types import IPAMConfig, IPAMPool

from .. import firewall, hostview
from ..addressing import ipv4_configs
from ..engines import parse_version
from ..errors import ExpectationFailed, LabError, UnknownObject
from ..naming import BUILTIN_NETWORKS, lab_labels
from . import CheckResult, container_or_none, verdict

EXERCISE_NET = "exercise-net"
EXERCISE_MEMBERS = ("helloworld2", "db")
ALIAS = "api"
#: The names exercise: curl by name from each client to each server, port 8000.
NAME_CLIENTS = ("helloworld2", "web1", "both")
NAME_SERVERS = ("web", "db", "helloworld")
YES = {"y", "yes", "1", "true", "✓", "✔"}
NO = {"n", "no", "0", "false", "✗", "✘", "x"}
#: Docker writes the ``# ExtServers: [...]`` footer into resolv.conf from this version on.
EXT_SERVERS_FOOTER_SINCE = (26, 0, 0)


# -- reading live state -----------------------------------------------------------------------


def _endpoints(container) -> dict:
    """``{docker network name: endpoint dict}`` of a container, freshly read."""
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"] or {}


def _ipv4(network) -> tuple:
    """``(subnet, gateway)`` of a network's first IPv4 config, or ``(None, None)``."""
    configs = ipv4_configs(network.attrs)
    return (configs[0][0], configs[0][1].get("Gateway")) if configs else (None, None)


def _addresses(result) -> set[str]:
    """The addresses in a ``getent hosts`` (first field of each line) or ``dig +short`` answer."""
    return {line.split()[0] for line in result.output.splitlines() if line.split()}


def _names(names) -> str:
    """``"db is"`` or ``"helloworld2 and db are"``: the start of a hint about containers."""
    names = list(names)
    if len(names) < 2:
        return f"{names[0]} is" if names else ""  # hints are built before they are needed
    return f"{', '.join(names[:-1])} and {names[-1]} are"


def _engine_version(lab) -> tuple[int, int, int] | None:
    return parse_version(lab.client.version().get("Version"))


# -- claims of the sections ------------------------------------------------------------------


def docker_refuses_overlap(lab, network: str = "my-net") -> None:
    """Section 2: Docker itself refuses a second network on ``network``'s subnet.

    Asks the daemon directly (no lab check in between) for a network ``clash`` with the
    same subnet, as ``docker network create --subnet SUBNET clash`` would, and prints
    Docker's answer. The request carries the lab's labels, so cleanup would find it.

    Raises:
        ExpectationFailed: Docker accepted it (the network is removed again at once).
    """
    subnet = str(_ipv4(lab.get_network(network))[0])
    labels = lab_labels(lab.learner, lab.lesson, lab.session, "clash")
    try:
        made = lab.client.networks.create(
            lab.name("clash"), labels=labels,
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]))
    except docker.errors.APIError as exc:
        said = exc.explanation if isinstance(exc.explanation, str) else str(exc)
        print(f"$ docker network create --subnet {subnet} clash\n"
              f"Error response from daemon: {said}")
        return
    lab.client.api.remove_network(made.id)
    raise ExpectationFailed(f"Docker accepted a second network on {subnet}, which {network} "
                            "already uses: this engine does not check overlaps.")


def answers_hold(lab, result, targets, network: str) -> None:
    """Sections 5 and 6: ``result`` (of ``lab.lookup`` or ``lab.dig``) gives exactly the
    addresses of ``targets`` (a container name or a list) on ``network``."""
    targets = [targets] if isinstance(targets, str) else list(targets)
    expected = {lab.ip(target, network) for target in targets}
    got = _addresses(result) if result.ok else set()
    if got != expected:
        raise ExpectationFailed(f"`{' '.join(result.command)}` in {result.source} answered "
                                f"{sorted(got) or result.output[:200]!r}, not the {network} "
                                f"address{'es' if len(expected) > 1 else ''} of "
                                f"{', '.join(targets)} ({', '.join(sorted(expected))}).")


def replies_hold(result, allowed, count: int) -> None:
    """Section 6: a shell loop of ``count`` curls got ``count`` replies, each one of ``allowed``."""
    replies = result.output.splitlines() if result.ok else []
    if len(replies) != count or not set(replies) <= set(allowed):
        raise ExpectationFailed(f"expected {count} replies among {sorted(allowed)}, got "
                                f"{replies or result.output[:200]!r}.")


def resolv_conf_holds(lab, result) -> None:
    """Section 5: a user-defined network's container asks only ``127.0.0.11``, with
    ``ndots:0``; from Docker 26 the file ends with the ``# ExtServers:`` footer, which
    names the lab's ``--dns 127.0.0.1``.

    ``result`` is ``cat /etc/resolv.conf`` run in the container.
    """
    text = result.output
    nameservers = re.findall(r"^nameserver\s+(\S+)", text, re.M)
    options = " ".join(re.findall(r"^options\s+(.*)$", text, re.M)).split()
    footer = re.search(r"^# ExtServers: \[(.*)\]", text, re.M)
    version = _engine_version(lab)
    wants_footer = version is not None and version >= EXT_SERVERS_FOOTER_SINCE
    problems = [
        (nameservers == ["127.0.0.11"], f"nameservers {nameservers}, not only 127.0.0.11"),
        ("ndots:0" in options, f"no ndots:0 among the options {options}"),
        (version is None or bool(footer) == wants_footer,
         f"the # ExtServers footer is {'missing' if wants_footer else 'there'} on engine "
         f"{'.'.join(map(str, version or ()))}"),
        (not footer or "127.0.0.1" in footer.group(1),
         f"# ExtServers lists {footer.group(1) if footer else ''}, not the lab's 127.0.0.1"),
    ]
    wrong = [hint for ok, hint in problems if not ok]
    if wrong:
        raise ExpectationFailed(f"resolv.conf in {result.source}: {'; '.join(wrong)}:\n{text}")


def dns_listeners_hold(result) -> None:
    """Section 5: inside the container, dockerd's DNS listens on ``127.0.0.11`` at a UDP
    and a TCP port that is not 53 (NAT rules in the namespace send port 53 there).
    ``result`` is ``ss -lntu`` run in the container.
    """
    sockets = [line.split() for line in result.output.splitlines()[1:] if line.split()]
    found = {(fields[0], fields[4].rsplit(":", 1)[1]) for fields in sockets
             if len(fields) > 4 and fields[4].startswith("127.0.0.11:")}
    protocols = {protocol for protocol, _ in found}
    if protocols != {"udp", "tcp"} or any(port == "53" for _, port in found):
        raise ExpectationFailed(f"expected a UDP and a TCP socket on 127.0.0.11 at ports "
                                f"other than 53 in {result.source}, found {sorted(found)}:\n"
                                f"{result.output}")


def gateway_holds(lab, container, network: str, destination: str | None = None) -> None:
    """Section 8: ``container``'s route (its default route, or the one to ``destination``)
    goes through ``network``'s gateway, the host's address on that bridge."""
    argv = ["ip", "-j", "route"] + (["get", destination] if destination else ["show", "default"])
    result = lab.exec(container, argv).expect_success()
    routes = json.loads(result.stdout or "[]")
    expected = _ipv4(lab.get_network(network))[1]
    via = [route.get("gateway") for route in routes]
    if via[:1] != [expected]:
        what = f"to {destination}" if destination else "default route"
        raise ExpectationFailed(f"{container}'s {what} goes via {via or 'nothing'}, not via "
                                f"{network}'s gateway {expected}.")


def matrix_follows_networks(lab, matrix: pd.DataFrame) -> None:
    """Section 10: in ``matrix`` (of ``lab.reachability``), a client reaches a server by
    IP address exactly when they share a network."""
    on = {lab.short_name(c): set(_endpoints(c)) for c in
          (lab.get_container(name) for name in {*matrix.index, *matrix.columns})}
    wrong = [f"{client} -> {server}: {'reached' if matrix.loc[client, server] else 'missed'}"
             for client in matrix.index for server in matrix.columns
             if bool(matrix.loc[client, server]) != bool(on[client] & on[server])]
    if wrong:
        raise ExpectationFailed("reachability does not follow the shared networks: "
                                + "; ".join(wrong))


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


# -- exercises --------------------------------------------------------------------------------


def _mark(token: str):
    token = token.strip().lower()
    return True if token in YES else False if token in NO else None


def parse_prediction(prediction) -> pd.DataFrame | str:
    """The learner's prediction as a clients x servers DataFrame of True/False/None,
    or a hint (str) saying what is malformed.

    Accepts a text grid (a row per client: its name, then one mark per server, in the
    order of :data:`NAME_SERVERS`) or a ``{client: {server: mark}}`` dict.
    Marks: ``y``/``n``, ``✓``/``✗``, ``True``/``False``, ``1``/``0``; ``?`` is not decided yet.

    >>> parse_prediction("helloworld2 n n n\\nweb1 y ? y\\nboth y y y").loc["web1"].tolist()
    [True, None, True]
    >>> parse_prediction({"web1": {"web": "y"}})
    'Your prediction has no row for helloworld2, both: one row per client.'
    """
    if isinstance(prediction, str):
        rows = {}
        for line in prediction.strip().splitlines():
            fields = line.split("#")[0].split()
            if fields:
                rows[fields[0]] = dict(zip(NAME_SERVERS, fields[1:]))
                if len(fields) != len(NAME_SERVERS) + 1:
                    return (f"The row of {fields[0]} has {len(fields) - 1} marks; it needs "
                            f"{len(NAME_SERVERS)}, one per server ({', '.join(NAME_SERVERS)}).")
        prediction = rows
    if not isinstance(prediction, dict):
        return ("Set `prediction` to the text grid of the exercise (or a dict "
                "{client: {server: True/False}}).")
    missing = [client for client in NAME_CLIENTS if client not in prediction]
    if missing:
        return f"Your prediction has no row for {', '.join(missing)}: one row per client."
    return pd.DataFrame([[_mark(str(prediction[client].get(server, "?")))
                          for server in NAME_SERVERS] for client in NAME_CLIENTS],
                        index=pd.Index(NAME_CLIENTS, name="from"),
                        columns=pd.Index(NAME_SERVERS, name="to"), dtype=object)


def names_prediction(lab, prediction) -> CheckResult:
    """Exercise 1: the learner's prediction of who reaches whom **by name** (curl to
    ``http://NAME:8000`` from each of :data:`NAME_CLIENTS` to each of :data:`NAME_SERVERS`)
    matches what the containers do now.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        prediction: a text grid or dict (see :func:`parse_prediction`).
    """
    predicted = parse_prediction(prediction)
    if isinstance(predicted, str):
        return CheckResult(False, predicted)
    undecided = int(predicted.isna().sum().sum())
    if undecided:
        return CheckResult(False, f"{undecided} cells still say '?': decide each one (y or n) "
                                  "before you look.")
    gone = [name for name in (*NAME_CLIENTS, "web1", "web2", "db", "helloworld")
            if container_or_none(lab, name) is None]
    if gone:
        return CheckResult(False, f"{_names(sorted(set(gone)))} gone: re-run sections 1 to 8 "
                                  "first.")
    live = lab.reachability(list(NAME_CLIENTS), list(NAME_SERVERS), port=8000, by="name",
                            timeout=2)
    wrong = [(client, server) for client in NAME_CLIENTS for server in NAME_SERVERS
             if bool(predicted.loc[client, server]) != bool(live.loc[client, server])]
    rows = sorted({client for client, _ in wrong}, key=NAME_CLIENTS.index)
    return verdict([
        (not wrong,
         f"{len(wrong)} of {live.size} cells differ from what the containers do, in the "
         f"row{'s' if len(rows) > 1 else ''} of {', '.join(rows)}. For each pair ask: who "
         "answers the client's DNS queries, and does that server know this name (sections "
         "4, 5 and 7)?"),
    ], praise=f"All {live.size} cells right: names resolve only through 127.0.0.11, and only "
              "for containers on a user-defined network the client shares.")


def exercise_net(lab, subnet) -> CheckResult:
    """Exercise 2: ``exercise-net`` is a bridge with the subnet the learner chose
    (``subnet``), ``helloworld2`` and ``db`` are attached, and ``db`` reaches
    ``helloworld2`` by name.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        subnet (str): the CIDR the learner chose, e.g. ``"10.214.37.0/24"``.
    """
    try:
        chosen = ipaddress.ip_network(subnet, strict=False) if isinstance(subnet, str) else None
    except ValueError:
        chosen = None
    if chosen is None or chosen.version != 4:
        return CheckResult(False, f"`subnet` is {subnet!r}: set it to the IPv4 CIDR you chose, "
                                  "as a string like '10.214.37.0/24' (lab.free_subnet() "
                                  "proposes one nobody uses).")
    try:
        network = lab.get_network(EXERCISE_NET)
    except UnknownObject:
        return CheckResult(False, f"There is no lab network called {EXERCISE_NET!r} yet: "
                                  "lab.network() creates one (the name is its first argument).")
    network.reload()
    has = _ipv4(network)[0]
    members = {lab.short_name(c): c for c in
               (container_or_none(lab, name) for name in EXERCISE_MEMBERS) if c is not None}
    missing_containers = [name for name in EXERCISE_MEMBERS if name not in members]
    attached = set((network.attrs.get("Containers") or {}).keys())
    not_attached = [name for name, c in members.items() if c.id not in attached]
    first = verdict([
        (network.attrs.get("Driver") == "bridge",
         f"{EXERCISE_NET!r} uses the {network.attrs.get('Driver')!r} driver; this lesson is "
         "about the bridge driver."),
        (has == chosen,
         f"{EXERCISE_NET!r} has the subnet {has}, not the {chosen} you chose: give it with "
         "lab.network's subnet argument (re-running lab.network with it replaces the network)."),
        (not missing_containers,
         f"{_names(missing_containers)} not in this lesson any more: re-run the cells of "
         "sections 1 and 8 that create them."),
        (not not_attached,
         f"{_names(not_attached)} not attached to {EXERCISE_NET!r} (a network only carries "
         "traffic for the containers attached to it)."),
    ])
    if not first:
        return first
    # Only now ask the resolver: every piece is in place, so a failure here is about names.
    db, helloworld2 = members["db"], members["helloworld2"]
    address = (_endpoints(helloworld2).get(network.name) or {}).get("IPAddress")
    answer = lab.curl(db, "http://helloworld2:8000", timeout=2)
    resolved = lab.lookup(db, "helloworld2", timeout=2)
    return verdict([
        (resolved.ok and address in _addresses(resolved),
         "db cannot resolve 'helloworld2' to its exercise-net address: which DNS server does "
         "db ask, and which networks does that server search (section 5)?"),
        (answer.ok, f"db resolves helloworld2 but curl failed: {answer.output[:200]}"),
    ], praise=f"{EXERCISE_NET} ({has}) carries db -> helloworld2 by name.")


def api_alias(lab) -> CheckResult:
    """Exercise 3: from ``helloworld``, the name ``api`` resolves to ``helloworld2``.

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
                                  "helloworld2. (Section 7 changed something.)")
    with_alias = [name for name in shared if ALIAS in (server_side[name].get("Aliases") or [])]
    if not with_alias:
        short = {n.name: lab.short_name(n) for n in lab.networks()}
        aliases = {short.get(name, name): sorted(a for a in server_side[name].get("Aliases") or []
                                                 if not helloworld2.id.startswith(a))
                   for name in shared}
        return CheckResult(False, f"On the network(s) they share, helloworld2 answers to "
                                  f"{aliases}, but not to {ALIAS!r}. Aliases are given per "
                                  "network, when a container is attached to it (with the CLI, "
                                  "an attached container must be disconnected first).")
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
