"""dockernet.published's and dockernet.firewall.portrules' pure parts, on captured text.

The port-rule tests run on every capture in tests/unit/data/engines/ (its published.json
names the binding it was taken with); what each engine must show comes from the
capture's version and backend, never typed in per engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dockernet import engines
from dockernet.errors import LabError
from dockernet.firewall import parse_iptables_save, parse_nft_ruleset
from dockernet.firewall.portrules import (
    comment_of,
    delete_argv,
    drop_rule_spec,
    lab_comment,
    parse_counted,
    port_rules,
    tool_view,
    with_comment,
)
from dockernet.published import binding_rows, client_rows, parse_proxy

ENGINES = Path(__file__).parent / "data" / "engines"
#: ``iptables-save -c`` with lab rules, and ``ps`` with docker-proxy processes, as captured.
DATA = Path(__file__).parent / "data" / "published"
FOLDERS = sorted(path for path in ENGINES.iterdir() if (path / "published.json").is_file())


def _capture(folder: Path):
    binding = json.loads((folder / "published.json").read_text())
    nftables = folder.name.endswith("-nftables")
    rows = parse_nft_ruleset((folder / "nft-list-ruleset.txt").read_text()) if nftables else \
        parse_iptables_save((folder / "iptables-save.txt").read_text())
    version = engines.parse_version(folder.name.split("-")[1])
    return binding, rows, version, nftables


def _kinds(found) -> list[str]:
    return [row["does"].split()[0].rstrip(":") for row in found]


def test_every_capture_has_a_binding():
    assert {p.name for p in FOLDERS} == {p.name for p in ENGINES.iterdir() if p.is_dir()}


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_each_engine_wrote_the_rules_its_version_promises(folder):
    binding, rows, version, nftables = _capture(folder)
    kinds = _kinds(port_rules(rows, binding))
    assert kinds.count("DNAT") == 1 and kinds.count("lets") == 1, kinds
    hardened = version >= (28, 0, 0)
    # Docker 28: a raw DROP for the container's address and one for the loopback port.
    assert kinds.count("drops") == (2 if hardened else 0), kinds
    # The hairpin MASQUERADE: iptables before 28 (28+ leaves it out with the userland proxy).
    assert ("hairpin" in kinds) == (not hardened and not nftables), kinds
    assert kinds == sorted(kinds, key=["drops", "DNAT", "lets", "hairpin"].index), \
        "rules come in the order a packet meets them"


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_another_binding_matches_no_rule(folder):
    binding, rows, _version, _nft = _capture(folder)
    assert port_rules(rows, {**binding, "host_port": binding["host_port"] + 1,
                             "container_ip": "192.0.2.99"}) == []
    udp = port_rules(rows, {**binding, "proto": "udp"})
    assert all(r["does"].startswith("drops packets for " + binding["container_ip"]) for r in udp)


def test_a_port_published_on_every_address_has_no_destination_in_its_dnat():
    rows = parse_iptables_save(
        "*nat\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 20033 -j DNAT --to-destination "
        "172.17.0.4:8000\n-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 20033 -j "
        "DNAT --to-destination 172.17.0.4:8000\nCOMMIT")
    wide = {"container_ip": "172.17.0.4", "container_port": 8000, "host_ip": "0.0.0.0",
            "host_port": 20033}
    [found] = port_rules(rows, wide)
    assert " -d " not in found["rule"] and "any host address" in found["does"]
    [loopback] = port_rules(rows, {**wide, "host_ip": "127.0.0.1"})
    assert "-d 127.0.0.1/32" in loopback["rule"]


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_tools_show_what_their_engine_holds(folder):
    nftables = folder.name.endswith("-nftables")
    iptables = tool_view("iptables-nft-save", (folder / "iptables-save.txt").read_text())
    nft = tool_view("nft list ruleset", (folder / "nft-list-ruleset.txt").read_text())
    assert iptables["shows Docker's rules"] is (not nftables)
    assert nft["shows Docker's rules"] is True, "nft sees nf_tables: iptables-nft's and its own"
    assert ("docker-bridges" in nft["note"]) is nftables
    assert tool_view("iptables-legacy-save", "")["note"] == "no tables at all"


# -- rules the lab adds ----------------------------------------------------------------------

SAVED = (DATA / "iptables-save-c.txt").read_text()


def test_lab_rules_are_found_by_their_exact_comment_only():
    rows = parse_counted(SAVED)
    mine = with_comment(rows, lab_comment("h03", "03-publishing-ports"))
    assert [(r["chain"], r["packets"]) for r in mine] == [("INPUT", 0), ("DOCKER-USER", 4)]
    assert with_comment(rows, lab_comment("h03", "04-the-old-ways")) == []
    assert comment_of(rows[-1]["rule"]) == "someone else's"


def test_a_rule_is_deleted_by_its_own_words():
    [rule] = [r for r in parse_counted(SAVED) if r["chain"] == "INPUT"]
    argv = delete_argv(rule)
    assert argv[:4] == ["-t", "filter", "-D", "INPUT"]
    assert argv[4:] == drop_rule_spec("198.51.100.2", "198.51.100.1", 20031,
                                      "dockernet h03 03-publishing-ports")


@pytest.mark.parametrize("args, message", [
    (("198.51.100.2", "not-an-address", 20031), "not an IPv4 address"),
    (("198.51.100.0/24", "198.51.100.1", 20031), "not an IPv4 address"),
    (("198.51.100.2", "198.51.100.1", 0), "not a port"),
    (("198.51.100.2", "198.51.100.1", "8000"), "not a port"),
    (("198.51.100.2", "198.51.100.1", True), "not a port"),
])
def test_a_malformed_rule_is_refused(args, message):
    with pytest.raises(LabError, match=message):
        drop_rule_spec(*args, "dockernet a 03-x")


@pytest.mark.parametrize("learner", ["", "a b", 'x" -j ACCEPT', "A"])
def test_a_comment_names_a_real_learner_only(learner):
    with pytest.raises(LabError, match="cannot name a rule"):
        lab_comment(learner, "03-publishing-ports")


def test_a_non_rule_cannot_be_deleted():
    with pytest.raises(LabError, match="not a rule"):
        delete_argv({"table": "filter", "rule": "-P INPUT ACCEPT"})


# -- the daemon's view, processes, logs -------------------------------------------------------

#: ``ps -eo pid,args`` on Docker 20.10 and 28.5 hosts.
PS = (DATA / "ps.txt").read_text()


def test_docker_proxy_lines_give_their_mapping():
    found = [p for p in map(parse_proxy, (line.strip() for line in PS.splitlines())) if p]
    assert [(p["host_ip"], p["host_port"], p["container_ip"], p["listen_fd"]) for p in found] == [
        ("127.0.0.1", 26810, "172.17.0.3", False), ("198.51.100.33", 26811, "172.18.0.2", True)]


def test_a_server_log_gives_its_clients():
    log = ("Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...\n"
           '127.0.0.1 - - [26/Nov/2026 15:50:15] "GET / HTTP/1.1" 200 -\n'
           "----------------------------------------\n"
           '198.51.100.34 - - [26/Nov/2026 15:50:16] "GET /x HTTP/1.1" 404 -\n')
    assert [(r["client"], r["request"], r["status"]) for r in client_rows(log)] == [
        ("127.0.0.1", "GET / HTTP/1.1", 200), ("198.51.100.34", "GET /x HTTP/1.1", 404)]


def test_inspect_bindings_cover_random_and_every_address_ports():
    attrs = {"NetworkSettings": {
        "Ports": {"8000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"},
                               {"HostIp": "::", "HostPort": "32768"}],
                  "9000/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}], "53/udp": None},
        "Networks": {"bridge": {"IPAddress": ""}, "my-net": {"IPAddress": "10.200.0.2"}}}}
    rows = binding_rows(attrs, "web")
    assert [(r["host_ip"], r["host_port"], r["container_ip"], r["network"]) for r in rows] == [
        ("0.0.0.0", 32768, "10.200.0.2", "my-net"), ("::", 32768, "10.200.0.2", "my-net")]
    assert binding_rows({"NetworkSettings": {}}, "stopped") == []
