"""The pure parts of dockernet.hostside, on output captured from Docker 20.10 and 28.5
(tests/unit/data/hostside/README.md) and on made-up inputs for the edge cases."""

import json
from pathlib import Path

import pytest
from dockernet import hostside

DATA = Path(__file__).parent / "data" / "hostside"
ENGINES = sorted(p.name.removesuffix("-facts.json") for p in DATA.glob("docker-*-facts.json"))


def load(engine: str, what: str):
    path = DATA / f"{engine}-{what}"
    return json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()


def test_captures_exist_for_both_test_engines():
    assert ENGINES == ["docker-20.10.24", "docker-28.5.2"]


@pytest.mark.parametrize("engine", ENGINES)
def test_summary_has_one_row_per_kind_and_counts_every_interface(engine):
    links = load(engine, "ip-addr.json")
    rows = hostside.interface_summary(links)
    assert sum(row["interfaces"] for row in rows) == len(links)
    assert len({row["kind"] for row in rows}) == len(rows)
    assert rows[0]["kind"] == "loopback" and rows[0]["IPv4 addresses"] == "127.0.0.1/8"
    gateway = load(engine, "facts.json")["bridge_ipam"][0]["Gateway"]
    bridge = next(row for row in rows if row["kind"] == "bridge")
    assert f"{gateway}/16" in bridge["IPv4 addresses"] and "docker0" in bridge["names"]


def test_a_classroom_host_is_summarised_not_dumped():
    links = [{"ifname": "lo", "link_type": "loopback"}]
    links += [{"ifname": f"veth{n:03d}", "linkinfo": {"info_kind": "veth"}} for n in range(300)]
    links += [{"ifname": f"br-{n:012x}", "linkinfo": {"info_kind": "bridge"},
               "addr_info": [{"family": "inet", "local": f"10.200.{n}.1", "prefixlen": 24}]}
              for n in range(40)]
    rows = {row["kind"]: row for row in hostside.interface_summary(links)}
    assert [*rows] == ["loopback", "bridge", "veth"], "known kinds in a fixed order"
    assert rows["veth"]["interfaces"] == 300
    assert rows["veth"]["names"].endswith("+297 more")
    assert rows["bridge"]["IPv4 addresses"].endswith("+37 more")


@pytest.mark.parametrize("engine", ENGINES)
def test_the_lan_address_is_the_default_routes_interface(engine):
    facts = load(engine, "facts.json")
    found = hostside.default_route_address(load(engine, "ip-route.json"), load(engine, "ip-addr.json"))
    assert found == (facts["default_dev"], facts["lan_address"])


def test_no_default_route_means_no_lan_address():
    links = [{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.0.2.2"}]}]
    assert hostside.default_route_address([{"dst": "192.0.2.0/24", "dev": "eth0"}], links) is None
    assert hostside.default_route_address([{"dst": "default", "dev": "wg0"}], links) is None


@pytest.mark.parametrize("engine", ENGINES)
def test_host_gateway_in_etc_hosts_is_what_the_engine_should_write(engine):
    facts = load(engine, "facts.json")
    written = hostside.hosts_entries(load(engine, "etc-hosts.txt"), hostside.HOST_NAME)
    assert written == hostside.expected_host_gateway(facts["version"], facts["bridge_ipam"])
    assert written == [facts["bridge_ipam"][0]["Gateway"]]


@pytest.mark.parametrize("version, expected", [
    ("20.10.24", ["172.17.0.1"]), ("27.5.1", ["172.17.0.1"]),
    ("28.0.0", ["172.17.0.1", "fd00:1::1"]), ("29.7.2", ["172.17.0.1", "fd00:1::1"])])
def test_from_28_a_dual_stack_default_bridge_gives_two_addresses(version, expected):
    ipam = [{"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"},
            {"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert hostside.expected_host_gateway(version, ipam) == expected


def test_before_28_an_ipv6_only_default_bridge_gives_its_ipv6_gateway():
    assert hostside.expected_host_gateway("20.10.24", [{"Gateway": "fd00:1::1"}]) == ["fd00:1::1"]
    assert hostside.expected_host_gateway("20.10.24", []) == []


def test_hosts_entries_ignore_comments_and_other_names():
    text = "# 1.2.3.4 host.docker.internal\n172.17.0.1 host.docker.internal gw\n10.0.0.9 other\n"
    assert hostside.hosts_entries(text, "host.docker.internal") == ["172.17.0.1"]
    assert hostside.hosts_entries(text, "gw") == ["172.17.0.1"]
    assert hostside.hosts_entries(text, "nothing") == []


@pytest.mark.parametrize("in_host, dialled, bind, expected", [
    (True, "127.0.0.1", "127.0.0.1", True),
    (False, "127.0.0.1", "127.0.0.1", False),     # a container's loopback is its own
    (False, "127.0.0.1", "0.0.0.0", False),
    (False, "172.17.0.1", "172.17.0.1", True),
    (False, "172.17.0.1", "127.0.0.1", False),
    (True, "192.0.2.2", "172.17.0.1", False),     # the LAN address is not the gateway
    (True, "192.0.2.2", "0.0.0.0", True),
    (False, "10.202.200.1", "10.202.200.1", True),
])
def test_the_bind_address_rule(in_host, dialled, bind, expected):
    assert hostside.reaches(in_host, dialled, bind) is expected


def test_last_error_line_reads_a_python_traceback():
    log = ("Traceback (most recent call last):\n  File \"x\", line 1\n    bind()\n    ~~~^^\n"
           "OSError: [Errno 98] Address already in use\n")
    assert hostside.last_error_line(log) == "OSError: [Errno 98] Address already in use"
    assert hostside.last_error_line("") == "(it printed nothing)"


def test_a_host_service_url_uses_loopback_for_a_wildcard():
    assert hostside.HostService("any", "0.0.0.0", 20001).url() == "http://127.0.0.1:20001/"
    assert hostside.HostService("gw", "172.17.0.1", 20002).url("host.docker.internal") == \
        "http://host.docker.internal:20002/"
