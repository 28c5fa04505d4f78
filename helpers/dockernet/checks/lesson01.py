"""Self-checks for lesson 01 (the default bridge): hints, never the answer.

Each check reads live state (the daemon, and the host through ``host-view``)
and returns a :class:`~dockernet.checks.CheckResult` naming the first thing
still wrong. A claim (``*_holds``) checks what a section of the lesson says, on
whatever engine runs it, and raises :class:`~dockernet.ExpectationFailed` when
the engine disagrees, as ``expect_success()`` does for a probe.

>>> from dockernet.checks import lesson01
>>> lesson01.reach_helloworld3(lab, None)                # doctest: +ELLIPSIS
CheckResult(passed=False, hint='There is no container called helloworld3 yet: ...')
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import firewall, hostview
from ..errors import ExpectationFailed
from ..probe import ProbeResult
from . import CheckResult, container_or_none, verdict

SOURCE, TARGET, PORT = "helloworld", "helloworld3", 8000



def _curl_url(result: ProbeResult) -> str | None:
    """The URL a ``lab.curl`` result fetched (its last argument), if it was a curl."""
    if not result.command or result.command[0] != "curl":
        return None
    return result.command[-1]


def reach_helloworld3(lab, result) -> CheckResult:
    """Exercise 1: ``helloworld3`` serves on the default bridge, and ``result`` is a curl
    from ``helloworld`` to it by IP address that answered "Hello Docker!".

    Args:
        lab (dockernet.Lab): the lesson's lab.
        result (ProbeResult): what your ``lab.curl(...)`` returned.
    """
    helloworld3 = container_or_none(lab, TARGET)
    if helloworld3 is None:
        return CheckResult(False, f"There is no container called {TARGET} yet: section 1 shows "
                                  "how helloworld and helloworld2 were started.")
    helloworld3.reload()
    networks = helloworld3.attrs["NetworkSettings"]["Networks"] or {}
    address = (networks.get("bridge") or {}).get("IPAddress")
    first = verdict([
        (helloworld3.status == "running", f"{TARGET} exists but is {helloworld3.status}."),
        (address, f"{TARGET} is not on the default bridge (it is on: "
                  f"{', '.join(networks) or 'nothing'}); this lesson is about the default one."),
        (isinstance(result, ProbeResult),
         "Store what your curl returned in `result` (lab.curl returns a ProbeResult), then run "
         "this check again."),
    ])
    if not first:
        return first
    url = _curl_url(result)
    parts = urlsplit(url or "")
    return verdict([
        (url is not None, f"`result` ran {result.command[:1]}, not curl: use lab.curl."),
        (result.source == SOURCE, f"That curl ran in {result.source}; the exercise asks for it "
                                  f"to run in {SOURCE}."),
        (parts.hostname != TARGET and not (parts.hostname or "").endswith("-" + TARGET),
         "The URL uses a name: on the default bridge names do not resolve (section 5). "
         "Which address does the daemon report for helloworld3?"),
        (parts.hostname == address,
         f"{parts.hostname} is not {TARGET}'s address on the default bridge: ask the "
         "daemon (lab.ip) rather than guessing; addresses are handed out in start order."),
        ((parts.port or 80) == PORT, f"The hello servers listen on port {PORT}, and your URL "
                                     f"goes to port {parts.port or 80}."),
        (result.ok and "Hello Docker!" in result.output,
         f"The curl did not get 'Hello Docker!' back: {result.output[:200]!r}. Was {TARGET} "
         "started as a hello server?"),
    ], praise=f"{SOURCE} reached {TARGET} at {address}:{PORT} through docker0.")


def helloworld2_veth(lab, answer) -> CheckResult:
    """Exercise 2: ``answer`` names the host-side veth of ``helloworld2``'s ``eth0``.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        answer (str): an interface name on the host, e.g. as ``ip link`` prints it.
    """
    if container_or_none(lab, "helloworld2") is None:
        return CheckResult(False, "helloworld2 is gone: re-run section 1 first.")
    if not isinstance(answer, str) or not answer.strip():
        return CheckResult(False, "Set `answer` to the interface's name, as a string.")
    name = answer.strip().split("@")[0]  # `ip link` prints "vethXXXX@if16": the name is before @
    pairs = hostview.veth_pairs(lab)
    host_side = {row.host_if: row.container for row in pairs.itertuples()}
    mine = pairs[pairs.container == "helloworld2"]
    on_host = set(hostview.host_interfaces(lab, prefixes=None)["name"])
    return verdict([
        (not name.startswith("eth"),
         f"{name} is how the container sees its own end. The other end of the cable has "
         "another name, in the host's namespace."),
        (name != "docker0", "docker0 is the bridge itself; each container has its own "
                            "interface plugged into it."),
        (name in on_host, f"The host has no interface called {name}. Interface names are "
                          "case-sensitive: copy it from a table of the host's interfaces."),
        (host_side.get(name) in (None, "helloworld2"),
         f"{name} is the other end of {host_side.get(name)}'s eth0, not helloworld2's."),
        (not mine.empty and name in set(mine.host_if),
         f"{name} is on the host, but it is not the peer of helloworld2's eth0: inside "
         "helloworld2, eth0@ifN tells you the peer's index N on the host."),
    ], praise=f"{name} on the host is the other end of helloworld2's eth0.")


def masquerade_rule_holds(lab, subnet, bridge: str = "docker0"):
    """Section 7's claim: what leaves ``subnet`` by any interface but ``bridge`` is
    masqueraded, in whichever form this engine's firewall backend wrote it.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        subnet (str): the bridge network's subnet, e.g. ``"172.17.0.0/16"``.
        bridge (str): its Linux bridge.

    Returns:
        pandas.DataFrame: the rule (:func:`dockernet.firewall.masquerade`); ``attrs``
        name the backend.

    Raises:
        ExpectationFailed: this engine has no such rule.
    """
    found = firewall.masquerade(lab, subnet=subnet, bridge=bridge)
    if found.empty:
        raise ExpectationFailed(f"the host's {found.attrs['backend']} rules have no MASQUERADE "
                                f"rule for {subnet} leaving by any interface but {bridge}: "
                                "firewall.rules(lab) lists them all.")
    return found
