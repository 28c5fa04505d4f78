"""Self-checks and claims for lesson 10 (across hosts).

As in :mod:`dockernet.checks.lesson05`: claims check what a section says and raise
:class:`~dockernet.ExpectationFailed` when the engine disagrees. Where simulated hosts
cannot start (``live`` is False), each claim says what it could not show and why,
and checks what it still can (the captured packets, the configuration), so every
cell of the lesson passes on such an engine too.

>>> from dockernet.checks import lesson10
>>> lesson10.why_no_timeout("a")                        # doctest: +ELLIPSIS
CheckResult(passed=False, hint='Look at the two results again...')
"""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pandas as pd

from .. import hosts, vxlan
from ..errors import LabError
from ..probe import ProbeResult
from . import CheckResult, choice, fail, verdict

MESSAGE = "Hello from host-b!"
#: The packets captured on this course's machine (Docker 28.5 hosts in Docker 20.10, 2026-11),
#: shown where simulated hosts cannot start; the unit tests read the same file.
CAPTURED = Path(__file__).resolve().parents[3] / "tests" / "unit" / "data" / "vxlan" / "overlay_curl.txt"
#: How long a fresh overlay container may take to be known by name on the other host (gossip).
CONVERGE_S = 10
#: Exercise 1: the server on host A and the caller on host B.
API, CALLER = "api", "caller"
#: Exercise 3.
WHY_HINTS = {
    "a": "Look at the two results again: which one came back, and which one waited? Is a "
         "name lookup a packet to another host at all?",
    "c": "A refusal comes back at once (curl exit 7). What did curl say, and after how long?",
    "d": "The lookup worked on host A with 4789 blocked on host B. Where did the answer come from?",
}
WHY_RIGHT = "b"


def _skipped(what: str) -> None:
    print(f"(not shown here: {what} needs the simulated hosts, which cannot start on this engine)")


# -- claims ---------------------------------------------------------------------------------


def simulated_hosts_here(lab) -> bool:
    """Section 1: can two simulated hosts start here? Prints the answer and, if not, why."""
    why_not = hosts.readiness(lab)
    if why_not is None:
        print(f"Yes: two simulated hosts can start here, from {hosts.host_image(lab.client)}.")
        return True
    print(f"No simulated hosts on this engine: {why_not}.\nThe lesson goes on with what it can "
          "show: the ports, the diagram with example addresses, packets captured on another "
          "machine (said so where they appear) and the configuration for real machines.")
    return False


def hosts_run(site, live: bool):
    """Section 1: two hosts run, each its own engine, on the underlay; their table."""
    if not live:
        _skipped("starting two Docker engines")
        return None
    table = hosts.frame(site)
    if len(table) != 2 or set(table["engine"]) == {""}:
        fail(f"expected two answering engines, got:\n{table}")
    if table["underlay address"].nunique() != 2:
        fail(f"the two hosts should have two addresses on the underlay:\n{table}")
    return table


def swarm_of_two(nodes, live: bool):
    """Section 2: the manager lists both hosts, Ready, one of them Leader."""
    if not live:
        _skipped("a swarm between the hosts")
        return None
    if len(nodes) != 2 or set(nodes["status"]) != {"Ready"} or \
            nodes["manager"].fillna("").tolist().count("Leader") != 1:
        fail(f"expected two Ready nodes, one of them the Leader:\n{nodes}")
    return nodes


def overlay_vni_shown(network, live: bool) -> None:
    """Section 3: the overlay is swarm-scoped, attachable, and has a VXLAN id."""
    from ..swarm import overlay_vni

    if not live:
        _skipped("an overlay")
        return None
    vni = overlay_vni(network)
    if network.get("Scope") != "swarm" or not network.get("Attachable") or vni is None:
        fail(f"expected an attachable swarm-scoped overlay with a VXLAN id: scope "
             f"{network.get('Scope')}, attachable {network.get('Attachable')}, VNI {vni}")
    config = (network.get("IPAM") or {}).get("Config") or [{}]
    print(f"overlay {network['Name']}: driver {network.get('Driver')}, scope swarm, attachable, "
          f"subnet {config[0].get('Subnet')}, VNI {vni}")


def reached_by_name(host, live: bool, container: str = "client", url: str = "http://web:8000/",
                    message: str = MESSAGE) -> ProbeResult | None:
    """Section 3: ``container`` on ``host`` gets the page at ``url`` (on the other host) by name.

    A container that just joined takes a moment to be known by name on the other host
    (the hosts tell each other over gossip), so this tries for up to :data:`CONVERGE_S`.
    """
    if not live:
        _skipped("curl across hosts")
        return None
    return _curl_until_answered(host, container, url).expect_success(contains=message)


def _curl_until_answered(host, container: str, url: str) -> ProbeResult:
    deadline = time.monotonic() + CONVERGE_S
    result = hosts.curl(host, container, url)
    while not result.ok and time.monotonic() < deadline:
        time.sleep(1)
        result = hosts.curl(host, container, url)
    return result


def captured_sample() -> str:
    """The packets captured on this course's machine (see :data:`CAPTURED`)."""
    print(f"Captured earlier (not on this engine), from {CAPTURED.name}:")
    return CAPTURED.read_text()


def wire_holds(packets: pd.DataFrame, site, network, live: bool) -> pd.DataFrame:
    """Section 4: every packet on the underlay is VXLAN between the two hosts' own addresses,
    to UDP 4789, with the overlay's VNI, carrying the containers' TCP, which starts with a SYN."""
    from ..swarm import overlay_vni

    if packets.empty:
        fail("tcpdump saw no VXLAN packet on the underlay")
    outer = set(packets["outer src"]) | set(packets["outer dst"])
    expected = {host.address for host in site} if live else outer
    vni = overlay_vni(network) if live else int(packets["VNI"].iloc[0])
    problems = []
    if outer != expected or len(outer) != 2:
        problems.append(f"outer addresses {sorted(outer)}, not the hosts' {sorted(expected)}")
    if set(packets["UDP port"]) != {vxlan.VXLAN_PORT} or set(packets["VNI"]) != {vni}:
        problems.append(f"ports {set(packets['UDP port'])}, VNIs {set(packets['VNI'])} (the "
                        f"overlay's is {vni})")
    inner = [p.rsplit(":", 1)[0] for p in packets["inner src"]]
    if any(ipaddress.ip_address(a) in {ipaddress.ip_address(o) for o in outer} for a in inner):
        problems.append("an inner address is a host's: the packets are not wrapped")
    if not str(packets["TCP flags"].iloc[0]).startswith("S ("):
        problems.append(f"the first packet is {packets['TCP flags'].iloc[0]}, not the SYN")
    if problems:
        fail("the capture does not show the overlay's packets: " + "; ".join(problems))
    return packets


def blocked_times_out(host_a, live: bool) -> ProbeResult | None:
    """Section 5: with 4789 dropped on host B, ``web`` still resolves on host A, and curl
    times out (not refused). Raises if curl gets through."""
    if not live:
        _skipped("the blocked port")
        return None
    lookup = host_a.docker(["exec", "client", "getent", "hosts", "web"])
    if not lookup.ok:
        fail(f"web should still resolve on host A (names do not ride on 4789): {lookup.output}")
    print(f"web still resolves on host A: {lookup.output}")
    result = hosts.curl(host_a, "client", "http://web:8000/", timeout=2).expect_failure()
    if result.exit_code != 28:
        fail(f"expected curl to time out (exit 28), not exit {result.exit_code}: {result.output}")
    return result


def works_again(host_a, live: bool) -> ProbeResult | None:
    """Section 5: with the rule gone, the same curl gets ``web``'s page again."""
    return reached_by_name(host_a, live)


def refused_configuration(entries) -> str:
    """Section 6: a bad ``hosts=[...]`` is refused with one LabError (returned as text)."""
    try:
        hosts.parse_hosts(entries)
    except LabError as exc:
        return str(exc)
    fail(f"hosts={entries!r} was accepted, but it is not a usable configuration")


# -- exercises ------------------------------------------------------------------------------


def reverse_path(site, live: bool) -> CheckResult:
    """Exercise 1: ``caller`` on host B gets ``api``'s page on host A, by name, on ``across``."""
    if not live:
        return CheckResult(True, praise="not checked here: no simulated hosts on this engine "
                                        "(read the solution, and try it where they start)")
    host_a, host_b = site
    placed = []
    for host, name in ((host_a, API), (host_b, CALLER)):
        seen = host.docker(["inspect", "-f", "{{json .NetworkSettings.Networks}}", name])
        placed.append((seen.ok, f"There is no container {name} on {host.name} yet: start it "
                                f"there with hosts.run_on or hosts.hello_server."))
        placed.append((not seen.ok or '"across"' in seen.output,
                       f"{name} is not on the overlay across: give it network='across'."))
    first = verdict(placed)
    if not first:
        return first
    reply = _curl_until_answered(host_b, CALLER, f"http://{API}:8000/")
    return verdict([(reply.ok, f"{CALLER} does not get an answer from http://{API}:8000/ "
                               f"({reply.output[:120]}): is {API} a server listening on 8000?")],
                   praise="the overlay works both ways: any container on it reaches any "
                          "other by name, whichever host each runs on.")


def read_the_wire(packets: pd.DataFrame, syn_outer_src, vni) -> CheckResult:
    """Exercise 2: the outer source of the SYN-ACK, and the VNI, read off the table."""
    answers = packets[packets["TCP flags"].astype(str).str.startswith("S. ")]
    if answers.empty:
        return CheckResult(False, "This capture has no SYN-ACK: run section 4's capture again.")
    row = answers.iloc[0]
    return verdict([
        (isinstance(syn_outer_src, str), "Set syn_outer_src to an address, as a string."),
        (syn_outer_src == row["outer src"],
         "Not that address. The SYN-ACK is the server's answer: which host runs the server, "
         "and which column holds the hosts' own addresses?"),
        (vni == row["VNI"], "Not that VNI: it is one number, the same on every packet of one "
                            "overlay."),
    ], praise="the SYN-ACK leaves host B, wrapped: outer source host B's underlay address, "
              "inner source web's overlay address.")


def why_no_timeout(letter) -> CheckResult:
    """Exercise 3: why the name resolved while curl timed out."""
    wrong = choice(letter, WHY_HINTS, WHY_RIGHT, name="why")
    if wrong is not None:  # a failed CheckResult is falsy: `wrong or ...` would pass it
        return wrong
    return CheckResult(True, praise="names travel by gossip (7946) and are answered on "
                                             "each host; only the data rides VXLAN on 4789.")
