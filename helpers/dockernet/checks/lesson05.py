"""Self-checks and claims for lesson 05 (the host network, and reaching the host).

As in :mod:`dockernet.checks.lesson01`: the claims check what a section says, on
whatever engine runs it, return what they were given (so a cell can show it) and raise
:class:`~dockernet.ExpectationFailed` when the engine disagrees; the exercises'
self-checks return a :class:`~dockernet.checks.CheckResult` whose hint never gives the
answer away.

>>> from dockernet.checks import lesson05
>>> lesson05.refused_explained("a", "r")                  # doctest: +ELLIPSIS
CheckResult(passed=False, hint='A firewall that drops packets makes curl wait...')
"""

from __future__ import annotations

import ipaddress

from .. import hostside
from ..errors import LabError
from ..probe import ProbeResult
from . import CheckResult, container_or_none, fail, verdict

#: Exercise 1: the server the learner starts on app-net's gateway, and the four paths to predict.
NET_APP, NET = "net-app", "app-net"
NET_PATHS = {"client → host.docker.internal": ("client", "host.docker.internal"),
             "client → app-net gateway": ("client", None),
             "app → host.docker.internal": ("app", "host.docker.internal"),
             "app → app-net gateway": ("app", None)}
#: Exercise 2: the container to build.
WORKER = "worker"
#: Exercise 3: the reasons and fixes to choose from, with a hint for each wrong one.
WHY_HINTS = {
    "a": "A firewall that drops packets makes curl wait until its timeout; here the answer came "
         "at once. Something answered \"no\": who, and from where?",
    "c": "Run lab.curl from the host view's side (hostside.host_curl): does the service answer "
         "there? Then it is running.",
    "d": "Docker filters nothing on a container's own loopback: section 4 showed a server in "
         "web answering on localhost.",
}
WHY_RIGHT = "b"
FIX_HINTS = {
    "p": "Publishing (-p) opens a way *into* a container from the host; the connection here goes "
         "the other way.",
    "q": "`localhost` is already in the container's /etc/hosts, as 127.0.0.1, and the first "
         "line wins; and even so, would the service answer on that address?",
    "s": "A restart changes neither where `localhost` points nor where the service listens.",
}
FIX_RIGHT = "r"


_fail = fail


# -- claims ----------------------------------------------------------------------------------


def answers_on_the_host(result: ProbeResult, service) -> ProbeResult:
    """Section 1: a curl from the host's namespace got the host-network server's answer."""
    if not result.ok or service.message not in result.output:
        _fail(f"from the host, {service.url()} did not answer {service.message!r}: "
              f"{result.output[:300]!r}")
    return result


def shares_the_host_namespace(table, host_network=("host-app", "host-view"), bridge=("box",)):
    """Section 2: host-network containers share one network namespace, the host view's;
    a bridge container has its own.

    >>> import pandas as pd
    >>> table = pd.DataFrame({"container": ["host-app", "host-view", "box"],
    ...                       "net namespace": ["net:[1]", "net:[1]", "net:[7]"]})
    >>> shares_the_host_namespace(table) is table
    True
    """
    inodes = dict(zip(table["container"], table["net namespace"]))
    shared = {inodes[name] for name in host_network}
    if len(shared) != 1:
        _fail(f"the host-network containers are in different namespaces: {inodes}")
    own = [name for name in bridge if inodes[name] in shared]
    if own:
        _fail(f"{', '.join(own)} should have a namespace of its own, but shares the host's: {inodes}")
    return table


def sees_the_host_interfaces(lab, summary):
    """Section 2: ``ip addr`` in a host-network container lists the host's own interfaces:
    ``docker0`` with the default bridge's gateway among the bridges."""
    gateway = hostside.default_bridge_gateway(lab)
    bridges = summary[summary["kind"] == "bridge"]
    if bridges.empty or gateway not in " ".join(bridges["IPv4 addresses"]):
        _fail(f"no bridge holding the default bridge's gateway {gateway} inside the host-network "
              f"container:\n{summary}")
    if "loopback" not in set(summary["kind"]):
        _fail(f"no loopback interface in:\n{summary}")
    return summary


def second_server_fails(lab, name: str, port: int) -> str:
    """Section 3: a second host-network server on a port the first one holds cannot listen.

    Returns:
        str: the lab's error message, which quotes the server's own error.
    """
    try:
        hostside.host_service(lab, name, port=port, message=f"Hello from {name}!")
    except LabError as exc:
        if "Address already in use" not in str(exc):
            _fail(f"{name} failed, but not because the port was taken: {exc}")
        if container_or_none(lab, name) is not None:
            _fail(f"{name} failed, yet its container is still there")
        return str(exc)
    _fail(f"{name} started on port {port}, which the first server holds: two listeners on one "
          "port of one namespace should be impossible")


def refused(result: ProbeResult) -> ProbeResult:
    """Section 4: the connection was refused at once (curl exit 7), not dropped (a timeout).

    >>> refused(ProbeResult("box", exit_code=7, output="curl: (7) Failed to connect to "
    ...                     "localhost port 29390 after 0 ms: Could not connect to server")).exit_code
    7
    """
    said = result.output
    if result.exit_code != 7 or not ("Could not connect" in said or "refused" in said):
        _fail(f"expected curl to be refused at once (exit 7), but: exit {result.exit_code}, "
              f"{said[:300]!r}")
    return result


def localhost_is_the_container(result: ProbeResult, message: str) -> ProbeResult:
    """Section 4: ``localhost`` inside a container reached the container's own server."""
    if not result.ok or message not in result.output:
        _fail(f"{result.source}'s own server should answer {message!r} on localhost: "
              f"{result.output[:300]!r}")
    return result


def host_gateway_holds(lab, table):
    """Section 5: in every container, ``host.docker.internal`` is what ``host-gateway`` means
    on this engine (the default bridge's gateway), whatever network the container is on.

    Args:
        table: :func:`dockernet.hostside.host_entries` for the containers to check.
    """
    expected = ", ".join(hostside.host_gateway(lab))
    for _, row in table.iterrows():
        if row[hostside.HOST_NAME] != expected:
            _fail(f"in {row['container']}, {hostside.HOST_NAME} is {row[hostside.HOST_NAME]!r}, "
                  f"not the default bridge's gateway {expected!r} (unless the daemon sets "
                  "host-gateway-ip)")
    others = table[table["default gateway"] != hostside.default_bridge_gateway(lab)]
    if others.empty:
        _fail("no container here is on another network than the default bridge: the claim "
              "needs one (app on app-net)")
    return table


def _dialled(lab, source: str, address: str) -> str:
    if address == hostside.HOST_NAME:
        return hostside.host_gateway(lab)[0]
    if address == "localhost":
        return "127.0.0.1"
    ipaddress.ip_address(address)
    return address


def bind_rule_holds(lab, table, callers, services):
    """Section 6: each cell of :func:`dockernet.hostside.reach_table` is what
    :func:`dockernet.hostside.reaches` says: a server answers only on the address it is
    bound to (every address for ``0.0.0.0``), and a container's loopback is its own."""
    wrong = []
    for row, (source, address) in zip(table.index, callers):
        if address is None:  # not tested: this host has no LAN address
            continue
        for column, service in zip(table.columns, services):
            expected = hostside.reaches(source == hostside.HOST, _dialled(lab, source, address),
                                        service.bind)
            if bool(table.loc[row, column]) != expected:
                wrong.append(f"{row} to {' '.join(column.split())}: "
                             f"{'reached' if not expected else 'missed'}")
    if wrong:
        _fail("these paths broke the bind-address rule: " + "; ".join(wrong) + f"\n{table}")
    return table


# -- exercises -------------------------------------------------------------------------------


def _network_gateway(lab, network: str) -> str | None:
    try:
        config = lab.get_network(network).attrs["IPAM"]["Config"] or []
    except LabError:
        return None
    return next((c["Gateway"] for c in config if c.get("Gateway")), None)


def net_app_prediction(lab, prediction) -> CheckResult:
    """Exercise 1: ``net-app`` listens on app-net's gateway, and ``prediction`` says which
    of :data:`NET_PATHS` reach it (measured live)."""
    gateway = _network_gateway(lab, NET)
    box = container_or_none(lab, NET_APP)
    if gateway is None:
        return CheckResult(False, f"There is no {NET} any more: re-run section 5 first.")
    if box is None:
        return CheckResult(False, f"Start {NET_APP} first, with hostside.host_service (a host "
                                  "service, as in section 6).")
    environment = dict(item.split("=", 1) for item in box.attrs["Config"].get("Env") or [])
    first = verdict([
        (box.attrs["HostConfig"].get("NetworkMode") == "host",
         f"{NET_APP} must run on the host network: start it with hostside.host_service."),
        (environment.get("BIND") == gateway,
         f"{NET_APP} listens on {environment.get('BIND', 'every address')!r}: give it bind= the "
         f"gateway address of {NET} (the host's address on that bridge)."),
        (isinstance(prediction, dict) and set(prediction) == set(NET_PATHS)
         and all(isinstance(v, bool) for v in prediction.values()),
         "Set `prediction` to a dict with the keys " + ", ".join(repr(k) for k in NET_PATHS)
         + ", each True (reaches net-app) or False."),
    ])
    if not first:
        return first
    service = hostside.HostService(NET_APP, gateway, int(environment["PORT"]),
                                   environment.get("MESSAGE", hostside.HOST_MESSAGE))
    callers = [(source, address or gateway) for source, address in NET_PATHS.values()]
    measured = hostside.reach_table(lab, callers, [service]).iloc[:, 0].tolist()
    wrong = sum(prediction[key] != seen for key, seen in zip(NET_PATHS, measured))
    return verdict([(not wrong, f"{wrong} of your {len(NET_PATHS)} guesses do not hold. For each "
                                "path, which address does the caller dial, and is it the one "
                                f"{NET_APP} listens on? Does the bridge the caller sits on matter?")],
                   praise=f"only the address matters: both containers reach {gateway}, a host "
                          "address, whatever bridge they are on; host.docker.internal is "
                          "another address, where nothing listens on that port.")


def worker_reaches_the_host(lab, service) -> CheckResult:
    """Exercise 2: ``worker``, on app-net, reaches ``service`` by the name
    ``host.docker.internal``, through ``host-gateway``."""
    box = container_or_none(lab, WORKER)
    if box is None:
        return CheckResult(False, f"There is no container called {WORKER} yet: start it with "
                                  "lab.run.")
    networks = box.attrs["NetworkSettings"]["Networks"] or {}
    extra = box.attrs["HostConfig"].get("ExtraHosts") or []
    mapped = [entry.split(":", 1)[1] for entry in extra
              if entry.split(":", 1)[0] == hostside.HOST_NAME]
    on_net = lab.get_network(NET).name in networks if _network_gateway(lab, NET) else False
    first = verdict([
        (box.status == "running", f"{WORKER} exists but is {box.status}."),
        (on_net, f"{WORKER} is on {', '.join(networks) or 'no network'}: start it on {NET} "
                 "(network=...)."),
        (mapped, f"{WORKER} has no {hostside.HOST_NAME} of its own: Docker writes one into "
                 "/etc/hosts when you ask with extra_hosts (--add-host)."),
        (mapped == ["host-gateway"],
         f"{hostside.HOST_NAME} maps to {mapped} in {WORKER}: that may work today, but write the "
         "special value Docker fills in itself, so it follows the daemon's settings."),
    ])
    if not first:
        return first
    answer = lab.curl(WORKER, service.url(hostside.HOST_NAME), timeout=2)
    return verdict([(answer.ok and service.message in answer.output,
                     f"{WORKER} resolves the name, but {service.name} does not answer it "
                     f"({answer.output[:100]!r}): is it still running, and on which address "
                     "does it listen?")],
                   praise=f"{WORKER} on {NET} reached {service.name} at "
                          f"{hostside.HOST_NAME} = the default bridge's gateway.")


def refused_explained(why, fix) -> CheckResult:
    """Exercise 3: the letters of the reason and of the fix (no live state)."""
    why_letter = str(why).strip().lower() if isinstance(why, str) else ""
    fix_letter = str(fix).strip().lower() if isinstance(fix, str) else ""
    return verdict([
        (why_letter in ("a", "b", "c", "d"), "Set `why` to 'a', 'b', 'c' or 'd'."),
        (why_letter == WHY_RIGHT, WHY_HINTS.get(why_letter, "")),
        (fix_letter in ("p", "q", "r", "s"), "Set `fix` to 'p', 'q', 'r' or 's'."),
        (fix_letter == FIX_RIGHT, FIX_HINTS.get(fix_letter, "")),
    ], praise="localhost is the container's own loopback: nothing listens there, so its kernel "
              "refuses at once. Reach the host by an address of the host (host-gateway), where "
              "the service listens.")
