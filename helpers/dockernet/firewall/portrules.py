"""Published ports in the firewall, and rules the lab adds: pure finders, no daemon.

A published port (``-p HOST_IP:HOST_PORT:CONTAINER_PORT``) becomes a handful of
rules, in whichever form the engine's backend writes them:

==================  ============================================  ===========================
what                iptables (20.10 to 29)                        nftables (Docker 29)
==================  ============================================  ===========================
DNAT                ``nat DOCKER ... -j DNAT --to-destination``   ``nat-prerouting-and-output``
open port           ``filter DOCKER -d CIP --dport CPORT ACCEPT``  ``filter-forward-in__BR``
hairpin             ``nat POSTROUTING -s CIP -d CIP MASQUERADE``  (none)
                    (up to 27; 28+ only without the userland proxy)
direct access       ``raw PREROUTING -d CIP ! -i BR -j DROP``     ``"DROP DIRECT ACCESS"``
                    (28.0.2+; 28.0.0-28.0.1: per port)
remote loopback     ``raw PREROUTING -d 127.0.0.1 ! -i lo DROP``  ``"DROP REMOTE LOOPBACK"``
                    (28+, ports published on 127.0.0.1)
==================  ============================================  ===========================

:func:`port_rules` picks them out of parsed rows (:mod:`.rulesets`) and says what
each does. The second half builds and recognises the rules lesson 03 adds on
purpose (a DROP in ``INPUT`` or ``DOCKER-USER``): each carries the comment
``dockernet <learner> <lesson>`` (:func:`lab_comment`), so that cleanup finds
exactly those and deletes them by their own text. :func:`tool_view` says what one
firewall tool's dump shows. Unit-tested on the captures in
``tests/unit/data/engines/``.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterable

from ..errors import LabError
from .rulesets import (
    DOCKER_NFT_TABLE,
    _nft_match,
    _nft_verdict,
    _options,
    parse_iptables_save,
    parse_nft_ruleset,
)

PORT_RULE_COLUMNS = ["table", "chain", "rule", "does"]
LAB_RULE_COLUMNS = ["chain", "rule", "packets"]
TOOL_COLUMNS = ["tool", "shows Docker's rules", "rules", "note"]
#: The chains a lab rule may go into: where a host firewall filters (INPUT), and where
#: Docker lets you filter what it forwards (DOCKER-USER).
LAB_CHAINS = ("INPUT", "DOCKER-USER")
COMMENT_PREFIX = "dockernet"
#: The order a packet from outside meets the rules in (raw PREROUTING, nat PREROUTING,
#: filter FORWARD, nat POSTROUTING), by the first word of what they do.
_STEP_ORDER = ["drops", "DNAT", "lets", "hairpin"]


def _wildcard(host_ip) -> bool:
    return host_ip in (None, "", "0.0.0.0", "::")


def _is(option, value) -> bool:
    return option == (False, str(value))


def _iptables_role(row: dict, binding: dict) -> str:
    """What an iptables row does for ``binding``, or ``""``."""
    if not row["rule"].startswith("-A "):
        return ""
    opts = _options(row["rule"])
    cip, cport = binding["container_ip"], binding["container_port"]
    hip, hport = binding.get("host_ip"), binding.get("host_port")
    target = (opts.get("-j") or (False, ""))[1]
    proto = opts.get("-p")
    if proto is not None and not _is(proto, binding.get("proto", "tcp")):
        return ""
    table, chain = row["table"], row["chain"]
    here = "any host address" if _wildcard(hip) else hip
    if table == "nat" and target == "DNAT" and _is(opts.get("--to-destination"), f"{cip}:{cport}") \
            and _is(opts.get("--dport"), hport) \
            and (opts.get("-d") is None if _wildcard(hip) else _is(opts.get("-d"), f"{hip}/32")):
        return f"DNAT: a new connection to {here}:{hport} goes to {cip}:{cport} instead"
    if table == "filter" and chain == "DOCKER" and target == "ACCEPT" \
            and _is(opts.get("-d"), f"{cip}/32") and _is(opts.get("--dport"), cport):
        return f"lets new connections to {cip}:{cport} through FORWARD into the bridge"
    if table == "nat" and chain == "POSTROUTING" and target == "MASQUERADE" \
            and _is(opts.get("-s"), f"{cip}/32") and _is(opts.get("-d"), f"{cip}/32"):
        return "hairpin: the container calling its own published port gets the host as its client"
    if table == "raw" and chain == "PREROUTING" and target == "DROP":
        into = opts.get("-i")
        if _is(opts.get("-d"), f"{cip}/32") and into and into[0] \
                and opts.get("--dport") in (None, (False, str(cport))):
            return f"drops packets for {cip} itself that come from outside its bridge (Docker 28+)"
        if hip and not _wildcard(hip) and ipaddress.ip_address(hip).is_loopback \
                and _is(opts.get("-d"), f"{hip}/32") and into == (True, "lo") \
                and _is(opts.get("--dport"), hport):
            return f"drops packets for {hip}:{hport} that arrive from the network (Docker 28+)"
    return ""


def _nft_role(row: dict, binding: dict) -> str:
    """What a row of Docker's nftables table does for ``binding``, or ``""``."""
    if row["table"] != DOCKER_NFT_TABLE:
        return ""
    rule, chain = row["rule"], row["chain"]
    cip, cport = binding["container_ip"], binding["container_port"]
    hip, hport = binding.get("host_ip"), binding.get("host_port")
    here = "any host address" if _wildcard(hip) else hip
    daddr, dport = _nft_match(rule, "ip daddr"), _nft_match(rule, f"{binding.get('proto', 'tcp')} dport")
    into = _nft_match(rule, "iifname")
    dnat = re.search(r"\bdnat to (\S+)", rule)
    if dnat and dnat.group(1) == f"{cip}:{cport}" and dport == (False, str(hport)) \
            and (daddr is None if _wildcard(hip) else daddr == (False, hip)):
        return f"DNAT: a new connection to {here}:{hport} goes to {cip}:{cport} instead"
    verdict = _nft_verdict(rule)
    if chain.startswith("filter-forward-in__") and verdict == "accept" \
            and daddr == (False, cip) and dport == (False, str(cport)):
        return f"lets new connections to {cip}:{cport} through FORWARD into the bridge"
    if chain == "raw-PREROUTING" and verdict == "drop":
        if daddr == (False, cip) and into and into[0]:
            return f"drops packets for {cip} itself that come from outside its bridge (Docker 28+)"
        if hip and not _wildcard(hip) and daddr == (False, hip) and into == (True, "lo") \
                and dport == (False, str(hport)):
            return f"drops packets for {hip}:{hport} that arrive from the network (Docker 28+)"
    return ""


def port_rules(rows: Iterable[dict], binding: dict) -> list[dict]:
    """The rules that serve one published port, each with what it ``does``.

    Args:
        rows: parsed rows (:func:`~.rulesets.parse_iptables_save` or
            :func:`~.rulesets.parse_nft_ruleset`).
        binding (dict): ``container_ip``, ``container_port`` (int), ``host_ip``
            (``"127.0.0.1"``, ``"0.0.0.0"``...), ``host_port`` (int), ``proto``
            (default ``"tcp"``).

    Returns:
        list of dict: ``table`` (an nftables table with its family), ``chain``, ``rule``
        and ``does``, in the order a packet from outside meets them (raw, nat, filter).

    >>> rows = parse_iptables_save("*nat\\n-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp "
    ...     "-m tcp --dport 20031 -j DNAT --to-destination 172.17.0.2:8000\\nCOMMIT")
    >>> [r["does"] for r in port_rules(rows, {"container_ip": "172.17.0.2",
    ...     "container_port": 8000, "host_ip": "127.0.0.1", "host_port": 20031})]
    ['DNAT: a new connection to 127.0.0.1:20031 goes to 172.17.0.2:8000 instead']
    """
    found = []
    for row in rows:
        nft = "family" in row
        does = _nft_role(row, binding) if nft else _iptables_role(row, binding)
        if does:
            table = f"{row['family']} {row['table']}" if nft else row["table"]
            found.append({"table": table, "chain": row["chain"], "rule": row["rule"],
                          "does": does})
    return sorted(found, key=lambda r: _STEP_ORDER.index(r["does"].split()[0].rstrip(":")))


# -- what each firewall tool shows ---------------------------------------------------------


def tool_view(tool: str, text: str) -> dict:
    """What one tool's dump shows: Docker's rules or not, how many rules, and a note.

    Args:
        tool (str): ``"iptables-legacy-save"``, ``"iptables-nft-save"`` or
            ``"nft list ruleset"``.
        text (str): what it printed.

    >>> tool_view("iptables-legacy-save", "")["shows Docker's rules"]
    False
    >>> view = tool_view("nft list ruleset", "table ip nat {\\n chain DOCKER {\\n"
    ...     "  iifname \\"docker0\\" return\\n }\\n}\\n"
    ...     "# Warning: table ip nat is managed by iptables-nft, do not touch!")
    >>> view["shows Docker's rules"], view["rules"], view["note"]
    (True, 1, "iptables-nft's tables, in nft's words: ip nat")
    """
    if tool.startswith("nft"):
        rows = parse_nft_ruleset(text)
        docker = any(r["table"] == DOCKER_NFT_TABLE or r["chain"].startswith("DOCKER")
                     for r in rows)
        holding = dict.fromkeys(f"{r['family']} {r['table']}" for r in rows
                                if r["chain"].startswith("DOCKER"))
        if any(r["table"] == DOCKER_NFT_TABLE for r in rows):
            note = "Docker's own table ip docker-bridges (the nftables backend)"
        elif holding:
            note = "iptables-nft's tables, in nft's words: " + ", ".join(holding)
        else:
            note = "no Docker tables"
        return {"tool": tool, "shows Docker's rules": docker, "rules": len(rows), "note": note}
    rows = parse_iptables_save(text)
    rules = [r for r in rows if r["rule"].startswith("-A ")]
    docker = any(r["chain"].startswith("DOCKER") for r in rows)
    tables = sorted({r["table"] for r in rows})
    note = ("tables " + ", ".join(tables) + (", with Docker's chains" if docker else
                                             ", none of Docker's chains")
            if tables else "no tables at all")
    return {"tool": tool, "shows Docker's rules": docker, "rules": len(rules), "note": note}


# -- rules the lab adds ----------------------------------------------------------------------


def lab_comment(learner: str, lesson: str) -> str:
    """The comment every rule the lab adds carries: it names the learner and the lesson.

    >>> lab_comment("alice", "03-publishing-ports")
    'dockernet alice 03-publishing-ports'
    """
    for part in (learner, lesson):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", part or ""):
            raise LabError(f"{part!r} cannot name a rule: learner and lesson ids are lower-case "
                           "letters, digits, '-', '_' and '.'.")
    return f"{COMMENT_PREFIX} {learner} {lesson}"


def drop_rule_spec(source: str, destination: str, port: int, comment: str) -> list[str]:
    """The match and target of a lab DROP rule, in the order ``iptables-save`` prints them,
    so that ``-C`` and ``-D`` find it by the same words.

    >>> drop_rule_spec("198.51.100.2", "198.51.100.1", 20031, "dockernet a 03-x")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['-s', '198.51.100.2/32', '-d', '198.51.100.1/32', '-p', 'tcp', '-m', 'tcp', '--dport',
     '20031', '-m', 'comment', '--comment', 'dockernet a 03-x', '-j', 'DROP']
    """
    for address in (source, destination):
        try:
            ipaddress.IPv4Address(address)
        except (TypeError, ValueError):
            raise LabError(f"{address!r} is not an IPv4 address: a lab rule matches one "
                           "address on each side.") from None
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise LabError(f"{port!r} is not a port: give a whole number from 1 to 65535.")
    return ["-s", f"{source}/32", "-d", f"{destination}/32", "-p", "tcp", "-m", "tcp",
            "--dport", str(port), "-m", "comment", "--comment", comment, "-j", "DROP"]


def parse_counted(text: str) -> list[dict]:
    """Rows ``(table, chain, rule, packets, bytes)`` from ``iptables-save -c`` output.

    >>> parse_counted("*filter\\n:INPUT ACCEPT [5:300]\\n[3:180] -A INPUT -s 198.51.100.2/32 "
    ...               "-j DROP\\nCOMMIT")[0]["packets"]
    3
    """
    rows, table = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        counted = re.match(r"^\[(\d+):(\d+)\]\s+(-A (\S+) .*)$", line)
        if table and counted:
            rows.append({"table": table, "chain": counted.group(4), "rule": counted.group(3),
                         "packets": int(counted.group(1)), "bytes": int(counted.group(2))})
    return rows


def comment_of(rule: str) -> str | None:
    """The ``--comment`` of an iptables rule, or ``None``.

    >>> comment_of('-A INPUT -m comment --comment "dockernet a 03-x" -j DROP')
    'dockernet a 03-x'
    """
    try:
        words = shlex.split(rule)
    except ValueError:
        return None
    return next((words[i + 1] for i, word in enumerate(words[:-1]) if word == "--comment"),
                None)


def with_comment(rows: Iterable[dict], comment: str) -> list[dict]:
    """The rows whose comment is exactly ``comment`` (another learner's never match)."""
    return [row for row in rows if comment_of(row["rule"]) == comment]


def delete_argv(row: dict) -> list[str]:
    """The arguments that delete ``row`` by its own text: ``-t TABLE -D CHAIN ...``.

    >>> delete_argv({"table": "filter", "rule": '-A INPUT -m comment --comment "dockernet a 03-x" -j DROP'})
    ['-t', 'filter', '-D', 'INPUT', '-m', 'comment', '--comment', 'dockernet a 03-x', '-j', 'DROP']
    """
    words = shlex.split(row["rule"])
    if words[:1] != ["-A"] or len(words) < 3:
        raise LabError(f"not a rule that can be deleted: {row['rule']!r}")
    return ["-t", row["table"], "-D", *words[1:]]
