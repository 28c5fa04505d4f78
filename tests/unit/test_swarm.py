"""Swarm and overlay helpers, pure parts: the VNI, whether overlays are possible here, the
tables built from what containers print."""

import ipaddress

import pytest
from dockernet import overlay, swarm
from dockernet.capabilities import HostReport

#: `docker network inspect` of an attachable overlay on Docker 20.10.24 (trimmed).
OVERLAY_INSPECT = {
    "Name": "dn-s9-09-over-net", "Scope": "swarm", "Driver": "overlay", "Attachable": True,
    "IPAM": {"Driver": "default", "Options": None,
             "Config": [{"Subnet": "10.200.190.0/24", "Gateway": "10.200.190.1"}]},
    "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
}
#: The same network in the instant after `docker network create`, before swarm allocated it.
UNALLOCATED = {"Name": "dn-s9-09-over-net", "Driver": "overlay", "Options": None,
               "IPAM": {"Driver": "", "Options": None, "Config": None}}
DRIVERS = ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"]


def report(**fields) -> HostReport:
    return HostReport(**{"network_drivers": DRIVERS, "swarm_state": "inactive", **fields})


def test_the_vni_comes_from_the_overlays_inspect():
    assert swarm.overlay_vni(OVERLAY_INSPECT) == 4097
    assert swarm.overlay_vni({"Options": {swarm.VXLAN_ID_OPTION: " 4101 ,4102"}}) == 4101


@pytest.mark.parametrize("attrs", [UNALLOCATED, {}, None, {"Options": {swarm.VXLAN_ID_OPTION: ""}},
                                   {"Driver": "bridge", "Options": {"com.docker.network.bridge.name": "x"}}])
def test_no_vni_where_there_is_none(attrs):
    assert swarm.overlay_vni(attrs) is None


@pytest.mark.parametrize("fields", [{}, {"swarm_state": "active", "swarm_manager": True},
                                    {"firewall_backend": "iptables", "docker_desktop": True}])
def test_overlays_are_possible_with_no_swarm_or_as_a_manager(fields):
    assert swarm.why_unusable(report(**fields)) is None


@pytest.mark.parametrize("fields, words", [
    ({"firewall_backend": "nftables"}, "nftables"),
    ({"swarm_state": "active", "swarm_manager": False}, "worker"),
    ({"swarm_state": "locked"}, "locked"),
    ({"swarm_state": "pending"}, "pending"),
    ({"swarm_state": "error"}, "'error'"),
    ({"rootless": True}, "rootless"),
    ({"network_drivers": ["bridge", "host", "null"]}, "no overlay driver"),
    ({"swarm_state": "something-new"}, "does not know"),
])
def test_where_overlays_are_impossible_the_reason_is_named(fields, words):
    reason = swarm.why_unusable(report(**fields))
    assert reason and words in reason


def test_the_decision_agrees_with_the_doctors_swarm_usable():
    for fields in ({}, {"firewall_backend": "nftables"}, {"swarm_state": "active"},
                   {"swarm_state": "active", "swarm_manager": True}, {"rootless": True}):
        assert (swarm.why_unusable(report(**fields)) is None) == report(**fields).swarm_usable


def test_the_status_table_leaves_the_reason_out_when_usable():
    usable = swarm.SwarmStatus(usable=True, state="active", manager=True, made_by_lab=True)
    assert "reason" not in usable.to_frame().index
    missing = swarm.SwarmStatus(usable=False, reason="this daemon runs nftables")
    assert missing.to_frame().loc["reason", "value"] == "this daemon runs nftables"


def test_vxlan_adds_fifty_bytes_and_the_overlay_mtu_is_what_is_left():
    headers = overlay.vxlan_overhead()
    assert headers["bytes"].tolist() == [14, 20, 8, 8]
    assert overlay.OVERLAY_BASE_MTU - headers["bytes"].sum() == 1450


def test_answers_are_counted_by_replica_and_failures_are_kept():
    text = "Hello from web-1\n\nHello from web-2\nHello from web-1\n(no answer)\n\n"
    counts = overlay.count_replicas(text)
    assert dict(zip(counts["replica"], counts["answers"])) == {"web-1": 2, "web-2": 1,
                                                               "(no answer)": 1}
    assert overlay.count_replicas("").empty


def test_a_containers_interfaces_are_named_by_network_and_the_default_route_marked():
    # `ip -j -4 addr` and `ip -j route show default` in a container on an overlay (20.10.24).
    addrs = [{"ifname": "lo", "mtu": 65536, "addr_info": [{"local": "127.0.0.1", "prefixlen": 8}]},
             {"ifname": "eth0", "mtu": 1450, "addr_info": [{"local": "10.200.190.2", "prefixlen": 24}]},
             {"ifname": "eth1", "mtu": 1500, "addr_info": [{"local": "172.18.0.3", "prefixlen": 16}]}]
    routes = [{"dst": "default", "gateway": "172.18.0.1", "dev": "eth1", "flags": []}]
    subnets = [(ipaddress.ip_network("10.200.190.0/24"), "over-net"),
               (ipaddress.ip_network("172.18.0.0/16"), "docker_gwbridge")]
    table = overlay.interface_rows(addrs, routes, subnets).set_index("interface")
    assert table.loc["eth0", "Docker network"] == "over-net" and table.loc["eth0", "MTU"] == 1450
    assert table.loc["eth1", "default route"] == "yes" and table.loc["eth0", "default route"] == ""
    assert table.loc["lo", "Docker network"] == "(loopback)"
    assert overlay.interface_rows(addrs, [], [])["Docker network"].tolist()[1:] == ["?", "?"]
