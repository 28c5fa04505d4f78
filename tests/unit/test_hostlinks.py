"""Pure parts of dockernet.hostlinks: link names, aliases, route answers, the ipvlan choice."""

import ipaddress

import pytest
from dockernet import hostlinks
from dockernet.capabilities import HostReport
from dockernet.checks import lesson08
from dockernet.errors import LabError
from dockernet.lab import _pool

# Captured on this machine (Docker 20.10 host, kernel 6.1): `ip -j -d link show` after
# hostlinks.parent() and hostlinks.shim() for learner h8a, trimmed to the fields used.
LINKS = [
    {"ifindex": 2, "ifname": "eth0", "address": "52:54:00:12:34:56", "operstate": "UP"},
    {"ifindex": 24532, "link": "dnf10e141f-mv", "ifname": "dnf10e141f-mvp",
     "ifalias": "dockernet h8a 08-macvlan-ipvlan", "address": "22:30:69:3e:a0:68",
     "operstate": "UP", "linkinfo": {"info_kind": "veth"}},
    {"ifindex": 24533, "link": "dnf10e141f-mvp", "ifname": "dnf10e141f-mv",
     "ifalias": "dockernet h8a 08-macvlan-ipvlan", "address": "f6:c9:19:c2:37:a8",
     "operstate": "UP", "linkinfo": {"info_kind": "veth"}},
    {"ifindex": 24540, "link": "dnf10e141f-mv", "ifname": "dnf10e141f-sh",
     "ifalias": "dockernet h8a 08-macvlan-ipvlan", "address": "8e:11:02:aa:bc:01",
     "operstate": "UP", "linkinfo": {"info_kind": "macvlan", "info_data": {"mode": "bridge"}}},
    # another learner whose id starts the same way: never matched
    {"ifindex": 24600, "ifname": "dn0a1b2c3d-mv", "ifalias": "dockernet h8ab 08-macvlan-ipvlan",
     "linkinfo": {"info_kind": "veth"}},
    # a link somebody made by hand with a name like the lab's, and no alias: never matched
    {"ifindex": 24601, "ifname": "dnf10e141f-iv", "linkinfo": {"info_kind": "veth"}},
]
# `ip -j route get 10.203.35.2` before and after the shim (captured).
ROUTE_BEFORE = [{"dst": "10.203.35.2", "dev": "dnf10e141f-mv", "prefsrc": "10.203.35.254",
                 "flags": [], "uid": 0, "cache": []}]
ROUTE_AFTER = [{"dst": "10.203.35.2", "dev": "dnf10e141f-sh", "prefsrc": "10.203.35.253",
                "flags": [], "uid": 0, "cache": []}]


def test_names_fit_linux_and_differ_per_learner_and_lesson():
    seen = set()
    for learner in ("h8a", "h8b", "a-very-long-learner-id-123456", "bobsmith-1a2b3c"):
        for lesson in ("08-macvlan-ipvlan", "test"):
            names = hostlinks.link_names(learner, lesson)
            assert all(len(name) <= hostlinks.MAX_NAME for name in names.values())
            assert len(set(names.values())) == len(names)
            assert names == hostlinks.link_names(learner, lesson)  # stable across calls
            seen.update(names.values())
    assert len(seen) == 8 * len(hostlinks.ROLES)


def test_names_are_not_the_outside_worlds():
    # dockernet.outside names its links dnx-...; hex digits never contain an x.
    names = hostlinks.link_names("h8a", "08-macvlan-ipvlan").values()
    assert not any(name.startswith("dnx-") for name in names)


def test_tagged_matches_the_exact_alias_only():
    rows = hostlinks.tagged(LINKS, hostlinks.link_alias("h8a", "08-macvlan-ipvlan"))
    assert [(row["name"], row["kind"]) for row in rows] == [
        ("dnf10e141f-mvp", "veth"), ("dnf10e141f-mv", "veth"), ("dnf10e141f-sh", "macvlan")]
    assert rows[2]["parent"] == "dnf10e141f-mv"
    assert hostlinks.tagged(LINKS, hostlinks.link_alias("h8", "08-macvlan-ipvlan")) == []


def test_route_via_reads_the_device_and_source():
    assert hostlinks.route_via(ROUTE_BEFORE)["dev"] == "dnf10e141f-mv"
    assert hostlinks.route_via(ROUTE_AFTER) == {"dev": "dnf10e141f-sh", "src": "10.203.35.253",
                                                 "gateway": None}
    assert hostlinks.route_via([])["dev"] is None


def test_reserved_address_or_a_clear_error():
    attrs = {"IPAM": {"Config": [{"Subnet": "10.203.35.0/24", "AuxiliaryAddresses":
                                  {"host": "10.203.35.254", "shim": "10.203.35.253"}}]}}
    assert hostlinks.reserved_address(attrs, "shim") == "10.203.35.253"
    with pytest.raises(LabError, match="aux_addresses=hostlinks.RESERVED"):
        hostlinks.reserved_address({"IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}}, "host")


def test_reserved_indexes_are_the_top_of_the_subnet():
    pool = _pool(ipaddress.ip_network("10.203.35.0/24"),
                 {"gateway": None, "aux_addresses": hostlinks.RESERVED})
    assert pool["AuxiliaryAddresses"] == {"host": "10.203.35.254", "shim": "10.203.35.253"}
    assert "Gateway" not in pool or pool["Gateway"] is None


def test_pool_keeps_the_labs_default_gateway():
    pool = _pool(ipaddress.ip_network("10.203.35.0/24"), {})
    assert pool["Gateway"] == "10.203.35.1"
    assert _pool(ipaddress.ip_network("10.203.35.0/24"), {"gateway": "10.203.35.9"})["Gateway"] \
        == "10.203.35.9"


@pytest.mark.parametrize("works, why, build, words", [
    (True, "", True, ""),
    (False, "kernel module missing", False, "no ipvlan module"),
    (None, "parent busy: the kernel has the module", False, "could not tell"),
    (None, "", False, "not checked"),
])
def test_ipvlan_plan(works, why, build, words):
    built, reason = hostlinks.ipvlan_plan(works, why)
    assert built is build
    assert words in reason


def test_probe_frame_from_a_report():
    report = HostReport(macvlan=True, ipvlan=False, vxlan=True,
                        link_notes={"ipvlan": "kernel module missing"})
    frame = lesson08.probe_frame(report)
    assert list(frame.columns) == lesson08.PROBE_COLUMNS
    assert frame.set_index("link")["works here"].to_dict() == {
        "macvlan": "yes", "ipvlan": "no", "vxlan": "yes"}
    # macvlan and ipvlan each on a parent of their own
    parents = frame.set_index("link")["probe's parent"]
    assert parents["macvlan"] != parents["ipvlan"]
