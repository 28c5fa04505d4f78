"""Self-checks and claims for lesson 03 (publishing ports).

Claims check what a section says, on whatever engine runs it: each returns what it
was given (so a cell can show it) and raises :class:`~dockernet.ExpectationFailed`
with the reason when the engine disagrees. Where engines differ (Docker 28's raw
rules, the FORWARD policy, an nftables backend), the claim reads the engine first
and expects what *this* engine does.

The exercises' self-checks (:func:`client_prediction`, :func:`api_published`,
:func:`why_docker_user`) return a :class:`~dockernet.checks.CheckResult` naming the
first thing still wrong: a hint, never the answer.

>>> from dockernet.checks import lesson03
>>> lesson03.why_docker_user(lab, "x").hint
"Set `why` to the letter of the reason you choose: 'a', 'b', 'c' or 'd'."
>>> lesson03.api_published(lab).hint                         # doctest: +ELLIPSIS
'There is no container called api yet: ...'
"""

from __future__ import annotations

import ipaddress

import pandas as pd

from .. import firewall, hostview, ports, published
from ..engines import parse_version
from ..errors import ExpectationFailed
from ..probe import ProbeResult
from . import CheckResult, container_or_none, fail, verdict

#: Section 6: the server a LAN client reaches through DNAT.
LAN_SERVER = "lan-server"
#: Exercise 2: the server to publish, the port it listens on inside, and what it says.
API, API_PORT, API_MESSAGE = "api", 9000, "Hello from api!"
#: curl's exit codes when a server accepted the connection and then closed it.
RESET_OR_EMPTY = {52: "Empty reply from server", 56: "Connection reset by peer"}
#: Docker 28 blocks direct routing to container addresses (raw PREROUTING) and keeps the
#: LAN off ports published on 127.0.0.1.
HARDENED_SINCE = (28, 0, 0)
WHY_RIGHT = "b"
WHY_HINTS = {
    "a": "Section 10's INPUT rule named the outside's own address as its source: it was about "
         "traffic from the LAN, not from the host. Which chain did that traffic go through?",
    "c": "Look at published.lab_rules(lab): the INPUT rule is still there. Was it deleted, or "
         "did it just never see a packet?",
    "d": "docker-proxy never saw these connections (section 6: the server logged the outside's "
         "address, not the gateway's). What happened to the packets before any socket?",
}


_fail = fail


def _version(lab) -> tuple[int, int, int]:
    return parse_version(lab.client.version().get("Version")) or (0, 0, 0)


def _binding(lab, container, host_ip: str | None = None) -> dict:
    rows = [row for row in published.ports_table(lab, [container]).to_dict("records")
            if host_ip is None or row["host_ip"] == host_ip]
    if not rows:
        _fail(f"{container} publishes no port{' on ' + host_ip if host_ip else ''}: re-run the "
              "cell that starts it.")
    return rows[0]


def _gateway(lab, container) -> str:
    networks = lab.get_container(container).attrs["NetworkSettings"]["Networks"] or {}
    return next(iter(networks.values()), {}).get("Gateway", "")


# -- claims of the sections ------------------------------------------------------------------


def port_is_yours(lab, port: int) -> int:
    """Section 1: ``port`` lies in this learner's own block and nobody publishes it yet."""
    blocks = ports._held_blocks(lab)
    if not any(block <= port < block + ports.BLOCK for block in blocks):
        _fail(f"{port} is not in this learner's block of ports ({blocks}): take it from "
              "ports.host_port(lab).")
    if port in ports.published_ports(lab.client):
        _fail(f"{port} is published already: ports.host_port(lab) should have skipped it.")
    return port


def proxy_serves(lab, proxies: pd.DataFrame, container: str = "helloworld") -> pd.DataFrame:
    """Section 3: a ``docker-proxy`` process listens on the container's host address and port
    and forwards to its address and container port. Returns ``proxies``."""
    binding = _binding(lab, container)
    mine = proxies[(proxies.container == container) & (proxies.host_port == binding["host_port"])]
    if mine.empty:
        _fail(f"no docker-proxy serves {binding['host_ip']}:{binding['host_port']}: does this "
              "daemon run with \"userland-proxy\": false? Then DNAT alone serves the port.")
    if mine.iloc[0].container_ip != lab.ip(container):
        _fail(f"the docker-proxy for port {binding['host_port']} forwards to "
              f"{mine.iloc[0].container_ip}, not to {container}'s {lab.ip(container)}")
    return proxies


def dnat_matches(lab, rules: pd.DataFrame, container: str = "helloworld") -> pd.DataFrame:
    """Section 4: the engine wrote a DNAT rule from the host address and port to the
    container's address and port, a rule that lets such connections through FORWARD, and,
    from Docker 28 on, the raw rules that keep the LAN off. Returns ``rules``."""
    binding = _binding(lab, container)
    target = f"{binding['container_ip']}:{binding['container_port'].split('/')[0]}"
    does = list(rules.does)
    wanted = [("DNAT", f"a DNAT rule for {binding['host_ip']}:{binding['host_port']} -> {target}"),
              ("lets", f"a rule that lets new connections to {target} through FORWARD")]
    if _version(lab) >= HARDENED_SINCE:
        wanted.append(("drops packets for " + binding["container_ip"],
                       "Docker 28's raw rule against direct access to the container's address "
                       "(is allow-direct-routing set?)"))
        if published.is_loopback(binding["host_ip"]):
            wanted.append((f"drops packets for {binding['host_ip']}",
                           "Docker 28's raw rule that keeps the LAN off a port published on "
                           "127.0.0.1"))
    missing = [what for start, what in wanted if not any(d.startswith(start) for d in does)]
    if missing:
        _fail(f"the host's {rules.attrs.get('backend')} rules lack " + "; ".join(missing))
    return rules


def tools_agree(lab, tools: pd.DataFrame) -> pd.DataFrame:
    """Section 5: the tool of this engine's backend shows Docker's rules; iptables-nft's
    rules show in ``nft list ruleset`` too, iptables-legacy's do not. Returns ``tools``."""
    backend = firewall.backend(lab)[0]
    shows = dict(zip(tools.tool, tools["shows Docker's rules"]))
    own = {"iptables-nft": "iptables-nft-save", "iptables-legacy": "iptables-legacy-save",
           "nftables": "nft list ruleset"}[backend]
    if not shows.get(own):
        _fail(f"the backend is {backend}, but {own} shows none of Docker's rules")
    if backend == "iptables-nft" and not shows.get("nft list ruleset"):
        _fail("iptables-nft writes nf_tables tables, but nft list ruleset did not show them")
    if backend == "iptables-legacy" and shows.get("nft list ruleset"):
        _fail("the backend is iptables-legacy, yet nft list ruleset shows Docker's chains too")
    return tools


def client_is_the_gateway(lab, seen: pd.DataFrame, container: str = "helloworld") -> pd.DataFrame:
    """Section 6: the host's curl through docker-proxy was logged with the bridge's gateway
    address as its client. Returns ``seen``."""
    gateway = _gateway(lab, container)
    if seen.empty or seen.client.iloc[-1] != gateway:
        last = seen.client.iloc[-1] if not seen.empty else "nothing"
        _fail(f"{container} logged {last} for the host's request, not the bridge's gateway "
              f"{gateway}")
    return seen


def client_is_outside(lab, world, seen: pd.DataFrame) -> pd.DataFrame:
    """Section 6: the outside's curl, DNATed, was logged with the outside's own address."""
    if seen.empty or seen.client.iloc[-1] != world.address:
        last = seen.client.iloc[-1] if not seen.empty else "nothing"
        _fail(f"{LAN_SERVER} logged {last}, not the outside's address {world.address}: was "
              "the connection DNATed?")
    return seen


def port_closed(lab, port: int) -> str:
    """Section 7: after ``docker rm -f``, nothing publishes or listens on ``port`` any more."""
    if port in ports.published_ports(lab.client) or port in ports.listening_ports(lab):
        _fail(f"port {port} is still published or listened on after its container went")
    return f"port {port}: no binding, no listener"


def random_port_in_range(lab, port: int) -> str:
    """Section 8: the port Docker picked lies in the host's ephemeral range
    (``/proc/sys/net/ipv4/ip_local_port_range``), above the lab's own ports."""
    text = hostview.host_exec(lab, ["cat", "/proc/sys/net/ipv4/ip_local_port_range"]).output
    low, high = (int(word) for word in text.split())
    if not low <= port <= high:
        _fail(f"Docker chose {port}, outside the host's ephemeral range {low}-{high}")
    return f"Docker chose {port}, in this host's ephemeral range {low}-{high}"


def nothing_left(lab, name: str = "clash") -> str:
    """Section 8: the refused container was removed: no container ``name`` is left."""
    if container_or_none(lab, name) is not None:
        _fail(f"a container {name!r} is left after Docker refused its port")
    return f"no container {name!r}: nothing was left behind"


def reset_or_empty(result: ProbeResult) -> ProbeResult:
    """Section 9: the connection was accepted, then closed without an answer (curl 52 or 56).

    >>> reset_or_empty(ProbeResult("host-view", exit_code=56,
    ...     output="curl: (56) Recv failure: Connection reset by peer")).exit_code
    56
    """
    if result.ok or result.exit_code not in RESET_OR_EMPTY:
        _fail(f"expected the published port to accept and then drop the connection (curl "
              f"exit 52 or 56), but curl said (exit {result.exit_code}): {result.output[:200]!r}")
    return result


def _rule(lab, chain: str) -> pd.Series | None:
    rules = published.lab_rules(lab)
    rows = rules[rules.chain == chain]
    return rows.iloc[0] if not rows.empty else None


def input_rule_does_not_stop(lab, result: ProbeResult) -> ProbeResult:
    """Section 10: with a DROP in INPUT for the outside's packets to the host port, the
    outside still gets the page, and the INPUT rule matched no packet. Returns ``result``."""
    result.expect_success(contains="Hello Docker!")
    if published.can_add_rules(lab):
        rule = _rule(lab, "INPUT")
        if rule is None:
            _fail("no INPUT rule of this lesson is on the host: run the cell that adds it")
        if rule.packets:
            _fail(f"the INPUT rule matched {rule.packets} packets: published traffic should "
                  "never reach INPUT")
    return result


def docker_user_rule_stops(lab, result: ProbeResult) -> ProbeResult:
    """Section 10: the DOCKER-USER rule drops the outside's connection, and counted its
    packets. Where the lab adds no rule (:func:`dockernet.published.can_add_rules`), the
    connection still works."""
    if not published.can_add_rules(lab):
        print("No rule was added on this engine (Docker 29's nftables backend has no DOCKER-USER "
              "chain; an iptables-legacy host may have no lock the lab can share), so the outside "
              "still reaches lan-server. The text below shows what to do there.")
        return result.expect_success()
    result = result.expect_failure()
    rule = _rule(lab, "DOCKER-USER")
    if rule is None or not rule.packets:
        _fail("the connection failed, but the DOCKER-USER rule counted no packet: something "
              "else dropped it")
    return result


def _forward_policy(lab) -> str:
    rows = firewall.rules(lab, table="filter", chain="FORWARD")
    policy = [r.split()[-1] for r in rows.rule if r.startswith("-P FORWARD")]
    return policy[0] if policy else "ACCEPT"


def exposure_holds(lab, to_published: ProbeResult, to_unpublished: ProbeResult) -> pd.DataFrame:
    """Section 11: what a LAN client reaches by routing to container addresses directly.

    Docker 28 and later drop it all (a raw-table DROP for each container address, and a DROP
    per bridge in the DOCKER chain). Before 28 the published container port is let in
    (the DOCKER chain's ACCEPT ignores the host address it was published on) and an
    unpublished one meets the FORWARD chain's policy: DROP where Docker turned IP
    forwarding on itself, ACCEPT on a host that forwarded before Docker started.

    Returns:
        pandas.DataFrame: one row per probe: what it reached, and why on this engine.
    """
    version = _version(lab)
    if version >= HARDENED_SINCE or firewall.backend(lab)[0] == "nftables":
        why = "Docker 28+: a raw-table DROP for every container address not from its bridge"
        expected = {"published": (False, why), "unpublished": (False, why)}
    else:
        policy = _forward_policy(lab)
        expected = {"published": (True, "before 28: the DOCKER chain accepts the published "
                                        "container port, whatever address it was published on"),
                    "unpublished": (policy != "DROP", f"before 28: no rule for it, so the "
                                                      f"FORWARD policy decides: {policy}")}
    rows = []
    for kind, result in (("published", to_published), ("unpublished", to_unpublished)):
        reach, why = expected[kind]
        result = result.expect_success() if reach else result.expect_failure()
        rows.append({"port": f"{kind} ({result.command[-1]})", "reached": result.ok,
                     "because": why})
    return pd.DataFrame(rows)


# -- exercises --------------------------------------------------------------------------------


def _address(text) -> str | None:
    try:
        return str(ipaddress.IPv4Address(str(text).strip())) if isinstance(text, str) else None
    except ValueError:
        return None


def client_prediction(lab, world, prediction) -> CheckResult:
    """Exercise 1: ``prediction`` is the client address ``lan-server`` logs when the host
    itself (the host view) fetches ``http://HOST_ADDRESS:LAN_PORT/``; measured live."""
    if container_or_none(lab, LAN_SERVER) is None:
        return CheckResult(False, f"{LAN_SERVER} is gone: re-run section 6's cells first.")
    guess = _address(prediction)
    if guess is None:
        return CheckResult(False, "Set `prediction` to an IPv4 address as a string, e.g. "
                                  "'192.0.2.7'.")
    try:
        binding = _binding(lab, LAN_SERVER, world.host_address)
    except ExpectationFailed as exc:
        return CheckResult(False, str(exc))
    url = f"http://{world.host_address}:{binding['host_port']}/"
    if not hostview.host_exec(lab, ["curl", "-sS", url]).ok:
        return CheckResult(False, f"the host could not fetch {url}: re-run section 6's cells.")
    seen = published.clients_seen(lab, LAN_SERVER).client.iloc[-1]
    return verdict([
        (guess != _gateway(lab, LAN_SERVER),
         f"{guess} is what a client looks like through docker-proxy (section 6). Does this "
         "connection ever reach docker-proxy? Section 4: which rule sends the host's own "
         "connections to the DOCKER chain, and which destinations does it leave out?"),
        (guess != "127.0.0.1", "The host sends this one to its address on the outside link, not "
                               "to 127.0.0.1: which source does a machine use to talk to one of "
                               "its own addresses?"),
        (guess != world.address, f"{guess} is the outside container's address, but the outside "
                                 "sent nothing this time: the host view did."),
        (guess != lab.ip(LAN_SERVER), f"{guess} is {LAN_SERVER}'s own address: the destination "
                                      "after DNAT, not the source."),
        (guess == seen, f"{LAN_SERVER} does not log {guess}. DNAT rewrote only the destination: "
                        "which source address did the host give the packet?"),
    ], praise=f"{LAN_SERVER} logged {seen}: the host's own connection to a non-loopback address "
              "is DNATed in OUTPUT, and keeps the source the host chose for it.")


def api_published(lab) -> CheckResult:
    """Exercise 2: ``api`` listens on port 9000 inside, is published on 127.0.0.1 on a port of
    the learner's own, and the host gets its page."""
    api = container_or_none(lab, API)
    if api is None:
        return CheckResult(False, f"There is no container called {API} yet: start one with "
                                  "lab.hello_server.")
    env = dict(item.split("=", 1) for item in api.attrs["Config"].get("Env") or [] if "=" in item)
    rows = published.binding_rows(api.attrs, API)
    inside = [row for row in rows if row["container_port"] == f"{API_PORT}/tcp"]
    first = verdict([
        (api.status == "running", f"{API} exists but is {api.status}."),
        (env.get("PORT") == str(API_PORT), f"{API} listens on {env.get('PORT', '?')} inside its "
                                           f"container; the task says {API_PORT} (port=)."),
        (bool(rows), f"{API} publishes no port: give it ports={{...}}."),
        (bool(inside), f"{API} publishes {', '.join(r['container_port'] for r in rows)}, but it "
                       f"listens on {API_PORT}: which side of the mapping is the container's?"),
    ])
    if not first:
        return first
    row = inside[0]
    held = ports._held_blocks(lab)
    url = f"http://127.0.0.1:{row['host_port']}/"
    answer = hostview.host_exec(lab, ["curl", "-sS", url])
    return verdict([
        (row["host_ip"] == "127.0.0.1", f"{API} is published on {row['host_ip']}: every machine "
                                        "that can reach that address reaches it. Keep it on "
                                        "this machine, as the lab does."),
        (any(b <= row["host_port"] < b + ports.BLOCK for b in held),
         f"{row['host_port']} is not one of your own ports: take one with "
         "ports.host_port(lab, after=...)."),
        (env.get("BIND") in (None, "0.0.0.0"), f"{API} listens on {env.get('BIND')} inside its "
                                               "container: section 9."),
        (answer.ok, f"the host could not fetch {url}: {answer.output[:120]}"),
        (API_MESSAGE in answer.output, f"the host got {answer.output[:60]!r}, not "
                                       f"{API_MESSAGE!r} (message=)."),
    ], praise=f"the host reaches {API} at {url}: 127.0.0.1:{row['host_port']} -> "
              f"{row['container_ip']}:{API_PORT}.")


def why_docker_user(lab, why) -> CheckResult:
    """Exercise 3: ``why`` is the letter of the reason the DOCKER-USER rule stops what the
    INPUT rule did not."""
    letter = why.strip().lower() if isinstance(why, str) else ""
    if letter not in ("a", "b", "c", "d"):
        return CheckResult(False, "Set `why` to the letter of the reason you choose: 'a', 'b', "
                                  "'c' or 'd'.")
    return verdict([(letter == WHY_RIGHT, WHY_HINTS.get(letter, ""))],
                   praise="DNAT in PREROUTING readdresses the packet to the container before the "
                          "routing decision, so it is forwarded (FORWARD, where DOCKER-USER sits), "
                          "never delivered to the host (INPUT).")

