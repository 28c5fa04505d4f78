"""dockernet.isolation's pure parts: the lab DNS server, its log, the engine versions that
carry the fix for CVE-2024-29018, resolv.conf, and the ICC rules on captured dumps.

The ICC dumps in tests/unit/data/isolation/ were captured from each test engine with a
network made with ``com.docker.network.bridge.enable_icc=false`` (bridge.txt names its
bridge), so the rule's form per engine is read from real output, not typed in. Each keeps
the filter table only, without the lines of other bridges that were on the daemon then.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dockernet import isolation
from dockernet.checks import lesson11
from dockernet.firewall import parse_iptables_save

CAPTURES = sorted((Path(__file__).parent / "data" / "isolation").glob("docker-*"))


# -- the engine versions ---------------------------------------------------------------------


@pytest.mark.parametrize("version, fixed", [
    ("20.10.24+dfsg1", False), ("23.0.10", False), ("23.0.11", True), ("24.0.9", False),
    ("25.0.4", False), ("25.0.5", True), ("25.0.17", True), ("26.0.0", True),
    ("26.1.2", True), ("28.5.2+dfsg4", True), ("29.7.2", True), ("dev", None),
])
def test_which_versions_carry_the_fix(version, fixed):
    assert isolation.dns_fixed(version) is fixed


@pytest.mark.parametrize("version, host_loopback, on_net", [
    ("20.10.24", True, True),      # forwards everything, from the host's namespace for loopback
    ("25.0.5", False, False),      # the fix: no forwarding at all from internal-only containers
    ("26.1.2", False, False),
    ("26.1.3", False, True),       # forwards again, from the container's namespace only
    ("28.5.2", False, True),
])
def test_what_the_embedded_dns_forwards_for_internal_containers(version, host_loopback, on_net):
    facts = isolation.dns_forwarding(version)
    assert facts["forwards to a loopback resolver of the host"] is host_loopback
    assert facts["forwards to a DNS server on the internal network"] is on_net


def test_an_unreadable_version_is_unknown_not_false():
    facts = isolation.dns_forwarding("dev")
    assert facts["CVE-2024-29018 fixed"] is None
    assert facts["forwards to a DNS server on the internal network"] is None


# -- resolv.conf and the server's log ----------------------------------------------------------


def test_nameservers_on_the_host_loopback_are_marked():
    text = "search lan\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\n" \
           "nameserver fe80::1%eth0\noptions edns0\nnameserver not-an-address\n"
    rows = isolation.nameserver_rows(text)
    assert [(r["nameserver"], r["on the host loopback"]) for r in rows] == [
        ("127.0.0.53", True), ("10.255.255.53", False), ("::1", True), ("fe80::1%eth0", False)]


def test_the_log_keeps_only_queries_and_names_their_types():
    log = ("serving outside.example. on udp 53\n"
           "query from 198.51.100.1 www.outside.example. type 1\n"
           "query from 198.51.100.1 www.outside.example. type 28\n"
           "Traceback (most recent call last):\n"
           "query from 10.1.2.3 other.example. type 99\n")
    assert isolation.parse_queries(log) == [
        {"client": "198.51.100.1", "name": "www.outside.example", "type": "A"},
        {"client": "198.51.100.1", "name": "www.outside.example", "type": "AAAA"},
        {"client": "10.1.2.3", "name": "other.example", "type": "99"}]


# -- the DNS server itself, on this machine's loopback ----------------------------------------


def _query(name: str, qtype: int = 1, ident: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\0" + \
        struct.pack("!HH", qtype, 1)


@pytest.fixture(scope="module")
def dns_server():
    """The lab's DNS server script, run by this Python on a free loopback port."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen([sys.executable, "-c", isolation.DNS_SERVER, "outside.example",
                               "198.51.100.2", str(port)], stdout=subprocess.PIPE, text=True)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(2)
    try:
        assert server.stdout.readline().startswith("serving outside.example.")
        yield client, ("127.0.0.1", port), server
    finally:
        client.close()
        server.kill()
        server.wait(timeout=5)


def _ask(dns_server, name, qtype=1):
    client, address, _ = dns_server
    client.sendto(_query(name, qtype), address)
    return client.recv(512)


def test_a_name_in_the_zone_gets_its_address(dns_server):
    answer = _ask(dns_server, "WWW.Outside.Example")
    ident, flags, _, answers = struct.unpack("!HHHH", answer[:8])
    assert (ident, flags & 0x000F, answers) == (0x1234, 0, 1)
    assert flags & 0x8000 and flags & 0x0100            # a response, recursion desired echoed
    assert socket.inet_ntoa(answer[-4:]) == "198.51.100.2"


def test_a_name_outside_the_zone_gets_nxdomain(dns_server):
    flags, _, answers = struct.unpack("!HHH", _ask(dns_server, "example.com")[2:8])
    assert flags & 0x000F == 3 and answers == 0


def test_other_types_in_the_zone_get_an_empty_answer(dns_server):
    answer = _ask(dns_server, "www.outside.example", qtype=28)
    flags, _, answers = struct.unpack("!HHH", answer[2:8])
    assert flags & 0x000F == 0 and answers == 0


def test_every_query_is_logged_and_junk_is_ignored(dns_server):
    client, address, server = dns_server
    client.sendto(b"\x00\x01junk", address)            # too short to parse: no answer, no crash
    _ask(dns_server, "logged.outside.example")
    deadline = time.monotonic() + 2
    line = ""
    while time.monotonic() < deadline and "logged" not in line:
        line = server.stdout.readline()
    assert isolation.parse_queries(line) == [
        {"client": "127.0.0.1", "name": "logged.outside.example", "type": "A"}]


# -- ICC rules, on captured dumps --------------------------------------------------------------


@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_icc_off_writes_one_drop_for_its_own_bridge(capture):
    rows = parse_iptables_save((capture / "iptables-save.txt").read_text())
    bridge = (capture / "bridge.txt").read_text().strip()
    found = isolation.icc_rows(rows, bridge)
    assert [row["rule"].split(" ", 2)[2] for row in found] == \
        [f"-i {bridge} -o {bridge} -j DROP"]
    assert isolation.icc_rows(rows, "br-000000000000") == []


def test_captures_are_there():
    assert CAPTURES, "capture each test engine into tests/unit/data/isolation/"


def test_an_nftables_icc_drop_is_found_and_a_negated_one_is_not():
    rows = [{"family": "ip", "table": "docker-bridges", "chain": "filter-forward-out__br-1",
             "rule": 'oifname "br-1" counter drop', "comment": "ICC"},
            {"family": "ip", "table": "docker-bridges", "chain": "filter-forward-in__br-1",
             "rule": 'iifname != "br-1" counter drop', "comment": "UNPUBLISHED PORT DROP"}]
    assert [row["chain"] for row in isolation.icc_rows(rows, "br-1")] == ["filter-forward-out__br-1"]


# -- the self-checks' answers never leak, and bad answers get a hint --------------------------


def test_the_explain_exercise_hints_for_each_wrong_letter():
    assert lesson11.why_not_by_ip(None, "b").passed
    for letter in "acd":
        verdict = lesson11.why_not_by_ip(None, letter)
        assert not verdict.passed and verdict.hint == lesson11.WHY_HINTS[letter]


def test_the_prediction_check_asks_for_both_keys_before_anything_else():
    verdict = lesson11.both_prediction(None, {"reaches the outside": True})
    assert not verdict.passed and "two guesses" in verdict.hint
