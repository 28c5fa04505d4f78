"""dockernet.firewall's pure parts, on rule dumps captured from each engine.

Every folder in tests/unit/data/engines/ is a capture (see its README): the tests
below run on each one, so a new engine's capture is tested by dropping it in. What a
capture must show is read from the capture itself (networks.json: which networks it
was taken with) and from dockernet.engines (which version changed what), never typed
in per engine. Rules of other networks on the captured daemon are never looked at.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockernet import engines
from dockernet.errors import LabError
from dockernet.firewall import (
    DOCKER_NFT_TABLE,
    firewall_from_info,
    holds_docker_rules,
    isolates,
    isolation_forms,
    isolation_rules,
    masquerade_rules,
    parse_iptables_save,
    parse_nft_ruleset,
    select,
)

ENGINES = Path(__file__).parent / "data" / "engines"
FOLDERS = sorted(path for path in ENGINES.iterdir() if path.is_dir())


@dataclass
class Capture:
    """One engine's dumps, parsed, and what it was captured with."""

    name: str
    version: tuple
    info: dict
    iptables_text: str
    nft_text: str
    iptables_version: str
    networks: list

    @property
    def backend(self) -> str:
        if firewall_from_info(self.info) == "nftables":
            return "nftables"
        return "iptables-legacy" if "legacy" in self.iptables_version else "iptables-nft"

    @property
    def iptables(self) -> list:
        return parse_iptables_save(self.iptables_text)

    @property
    def nft(self) -> list:
        return parse_nft_ruleset(self.nft_text)

    @property
    def rows(self) -> list:
        """The rows of the backend that holds Docker's rules."""
        return self.nft if self.backend == "nftables" else self.iptables

    def network(self, role: str) -> dict:
        return next(net for net in self.networks if net["role"] == role)

    def has(self, key: str) -> bool:
        """Does dockernet.engines say this engine has the change ``key``?"""
        found = {row["key"]: row["this engine"] for row in engines.changes(
            ".".join(map(str, self.version)), self.backend)}
        return found[key]


def load(folder: Path) -> Capture:
    def text(name: str) -> str:
        path = folder / name
        return path.read_text() if path.exists() else ""

    version = engines.parse_version(folder.name.removeprefix("docker-"))
    assert version, f"{folder.name}: name it docker-<version>[-<variant>]"
    if (folder / "docker-info.json").exists():
        info = json.loads(text("docker-info.json"))
    else:
        info = {"FirewallBackend": json.loads(text("firewall-backend.json"))}
    assert (folder / "networks.json").exists(), \
        f"{folder.name} has no networks.json: capture with bench/capture_rules.py"
    return Capture(folder.name, version, info, text("iptables-save.txt"),
                   text("nft-list-ruleset.txt"), text("iptables-version.txt"),
                   json.loads(text("networks.json")))


@pytest.fixture(scope="module", params=FOLDERS, ids=[f.name for f in FOLDERS])
def capture(request) -> Capture:
    return load(request.param)


def test_there_are_captures_of_old_and_new_engines_and_both_backends():
    captures = [load(folder) for folder in FOLDERS]
    assert min(c.version for c in captures) < (28, 0, 0) <= max(c.version for c in captures)
    assert {c.backend for c in captures} >= {"iptables-nft", "nftables"}


# -- every capture ------------------------------------------------------------------------------


def test_a_capture_is_whole(capture):
    assert capture.nft_text, "nft list ruleset is never empty where Docker wrote rules"
    assert {net["role"] for net in capture.networks} == {"default", "user-defined", "internal"}
    if "ServerVersion" in capture.info:
        assert engines.parse_version(capture.info["ServerVersion"]) == capture.version
    if capture.backend != "nftables":
        assert capture.iptables_text and capture.iptables_version.startswith("iptables v")


def test_iptables_save_becomes_one_row_per_chain_and_rule(capture):
    lines = [line for line in capture.iptables_text.splitlines()
             if line.startswith((":", "-A "))]
    rows = capture.iptables
    assert len(rows) == len(lines)
    assert [row["rule"] for row in rows if row["rule"].startswith("-A ")] == \
        [line for line in lines if line.startswith("-A ")]
    sections = re.findall(r"^\*(\w+)", capture.iptables_text, re.M)
    assert list(dict.fromkeys(row["table"] for row in rows)) == sections


def test_nft_ruleset_keeps_every_rule_comment_and_map_element(capture):
    rows = capture.nft
    rules = {row["rule"] for row in rows}
    counted = [line.strip() for line in capture.nft_text.splitlines() if "counter packets" in line]
    assert counted and set(counted) <= rules
    comments = re.findall(r'comment "([^"]*)"', capture.nft_text)
    assert sorted(row["comment"] for row in rows if row["comment"]) == sorted(comments)
    declared = set(re.findall(r"^\s*chain (\S+) \{", capture.nft_text, re.M))
    assert {row["chain"] for row in rows if not row["chain"].startswith("@")} <= declared
    elements = re.findall(r'"[^"]+" : (?:jump|goto) \S+?(?=,|\s|$)', capture.nft_text)
    assert len([row for row in rows if row["chain"].startswith("@")]) == len(elements)
    assert not any(row["rule"].startswith("#") for row in rows), "warnings are no rules"


def test_only_the_engines_backend_holds_dockers_rules(capture):
    assert holds_docker_rules(capture.rows)
    if capture.backend == "nftables":
        assert not holds_docker_rules(capture.iptables)
    else:
        assert not any(row["table"] == DOCKER_NFT_TABLE for row in capture.nft)
    # Engines report their backend in `docker info` from 28.1 (API 1.49) on.
    if "ServerVersion" in capture.info:
        reported = firewall_from_info(capture.info) is not None
        assert reported == capture.has("firewall-backend-in-info")


def test_each_networks_masquerade_rule_is_found_and_internal_ones_have_none(capture):
    for net in capture.networks:
        found = masquerade_rules(capture.rows, net["subnet"], net["bridge"])
        if net["internal"]:
            assert masquerade_rules(capture.rows, bridge=net["bridge"]) == [], net
            continue
        assert len(found) == 1, (net, found)
        assert net["subnet"] in found[0]["rule"] and net["bridge"] in found[0]["rule"]
        assert found[0]["table"] in ("nat", DOCKER_NFT_TABLE)
    assert masquerade_rules(capture.rows, "192.0.2.0/24") == [], "a subnet no network has"


def test_every_network_is_isolated_by_rules_naming_its_own_bridge(capture):
    for net in capture.networks:
        found = isolation_rules(capture.rows, net["bridge"])
        assert isolates(capture.rows, net["bridge"]), (net, found)
        # iptables names the bridge in the rule, nftables in the chain (filter-forward-in__BR).
        assert found and all(net["bridge"] in row["rule"] + row["chain"] for row in found), found
    assert isolation_rules(capture.rows, "br-000000000000") == []
    assert not isolates(capture.rows, "br-000000000000")


def test_the_isolation_form_is_the_one_this_engine_version_writes(capture):
    forms = " | ".join(isolation_forms(capture.rows))
    if capture.backend == "nftables":
        assert forms.startswith("nftables") and capture.has("nftables-backend")
        assert not any(row["chain"] == "DOCKER-USER" for row in capture.nft), \
            "the nftables backend has no DOCKER-USER"
        return
    chains = {row["chain"] for row in capture.iptables if row["table"] == "filter"}
    assert ("DOCKER-ISOLATION-STAGE-1" in forms) == (not capture.has("isolation-chains-replaced"))
    assert ("a DROP per bridge" in forms) == capture.has("unpublished-ports-dropped")
    assert ("DOCKER-FORWARD" in chains) == capture.has("docker-forward-chain")
    assert ("DOCKER-INTERNAL" in chains) == capture.has("isolation-chains-replaced")
    assert "DOCKER-USER" in chains


def test_a_port_published_on_loopback_is_kept_local_from_28_on(capture):
    if capture.backend == "nftables":
        local_only = any(row["chain"] == "raw-PREROUTING" and "ip daddr 127.0.0.1" in row["rule"]
                         and 'iifname != "lo"' in row["rule"] for row in capture.nft)
    else:
        local_only = any(row["table"] == "raw" and "-d 127.0.0.1/32 ! -i lo" in row["rule"]
                         and row["rule"].endswith("-j DROP") for row in capture.iptables)
    assert local_only == capture.has("loopback-ports-local")


def test_unknown_tables_and_chains_name_the_ones_there_are(capture):
    table = capture.rows[0]["table"]
    with pytest.raises(LabError, match=f"no table 'no-such-table'.*{table}"):
        select(capture.rows, "no-such-table")
    with pytest.raises(LabError, match="no chain 'NO-SUCH-CHAIN'"):
        select(capture.rows, table, "NO-SUCH-CHAIN")
    chain = capture.rows[-1]["chain"]
    assert all(row["chain"] == chain for row in select(capture.rows, chain=chain))


# -- parsing details ------------------------------------------------------------------------------


def test_iptables_save_counters_and_warnings_are_handled():
    rows = parse_iptables_save("# Warning: iptables-legacy tables present\n*filter\n"
                               ":FORWARD DROP [12:345]\n:DOCKER - [0:0]\n"
                               "[3:180] -A FORWARD -o docker0 -j DOCKER\nCOMMIT\n")
    assert [row["rule"] for row in rows] == ["-P FORWARD DROP", "-N DOCKER",
                                            "-A FORWARD -o docker0 -j DOCKER"]


def test_nft_braces_inside_rules_and_comments_do_not_open_blocks():
    rows = parse_nft_ruleset('table inet lab {\n\tchain input {\n'
                             '\t\ttcp dport { 22, 80 } accept comment "web {and} ssh"\n'
                             '\t}\n\tset seen {\n\t\ttype ipv4_addr\n'
                             '\t\telements = { 10.0.0.1,\n\t\t\t     10.0.0.2 }\n\t}\n}\n'
                             'table ip other {\n\tchain c {\n\t\tdrop\n\t}\n}\n')
    assert [(r["family"], r["table"], r["chain"], r["rule"], r["comment"]) for r in rows] == [
        ("inet", "lab", "input", 'tcp dport { 22, 80 } accept comment "web {and} ssh"',
         "web {and} ssh"),
        ("inet", "lab", "@seen", "10.0.0.1", ""), ("inet", "lab", "@seen", "10.0.0.2", ""),
        ("ip", "other", "c", "drop", "")]


def test_a_nat_rule_of_one_container_is_not_its_networks_masquerade_rule():
    # Docker 20.10's hairpin rule for a published port, beside the network's own.
    rows = parse_iptables_save(
        "*nat\n-A POSTROUTING -s 10.1.0.0/24 ! -o br-a -j MASQUERADE\n"
        "-A POSTROUTING -s 10.1.0.2/32 -d 10.1.0.2/32 -p tcp -m tcp --dport 8000 -j MASQUERADE\n"
        "COMMIT\n")
    assert [r["rule"] for r in masquerade_rules(rows, "10.1.0.0/24", "br-a")] == [rows[0]["rule"]]
    assert len(masquerade_rules(rows)) == 2


def test_one_isolation_stage_alone_does_not_isolate():
    stage_2_only = parse_iptables_save("*filter\n-A DOCKER-ISOLATION-STAGE-2 -o br-a -j DROP\n")
    assert not isolates(stage_2_only, "br-a")
    nft_without_jump = parse_nft_ruleset("table ip docker-bridges {\n chain filter-forward-in__br-a {"
                                         "\n  counter drop\n }\n}\n")
    assert not isolates(nft_without_jump, "br-a"), "a chain nothing jumps to filters nothing"
