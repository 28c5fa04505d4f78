"""The doctor's pure parts: reading `docker info`, probe outputs, and the lessons table."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from dockernet import capabilities
from dockernet.capabilities import (
    FULL,
    NO,
    PARTIAL,
    HostReport,
    firewall_from_info,
    firewall_from_probe,
    is_rootless,
    lessons_table,
    link_readings,
    links_from_probe,
    parse_exit_codes,
)

#: Trimmed from this project's Debian 12 machine (docker.io 20.10).
DEBIAN_INFO = {
    "ServerVersion": "20.10.24+dfsg1", "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
    "OSType": "linux", "SecurityOptions": ["name=seccomp,profile=default"], "Driver": "overlay2",
    "CgroupVersion": "1", "KernelVersion": "6.1.0-18-amd64", "Architecture": "x86_64",
    "Swarm": {"NodeID": "", "LocalNodeState": "inactive", "ControlAvailable": False},
    "Plugins": {"Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"]},
}
DEBIAN_VERSION = {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "MinAPIVersion": "1.12"}

#: What Docker Desktop and a rootless engine change in the same answer.
DESKTOP_INFO = {**DEBIAN_INFO, "OperatingSystem": "Docker Desktop", "ServerVersion": "27.3.1",
                "KernelVersion": "6.10.11-linuxkit", "CgroupVersion": "2"}
ROOTLESS_INFO = {**DEBIAN_INFO, "SecurityOptions": [
    "name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"]}


def full_host(**changes) -> HostReport:
    """A report of a host where everything works, with ``changes`` applied."""
    report = HostReport.from_daemon(DEBIAN_INFO, DEBIAN_VERSION, lab_image_present=True)
    probed = dict(firewall_backend="iptables-nft", macvlan=True, ipvlan=True, vxlan=True,
                  nested_hosts=True)
    for key, value in {**probed, **changes}.items():
        setattr(report, key, value)
    return report


def status_of(report: HostReport) -> dict:
    return {row.lesson: row.status for row in lessons_table(report)}


# -- docker info ----------------------------------------------------------------------------


def test_engine_facts_come_from_info_and_version():
    report = HostReport.from_daemon(DEBIAN_INFO, DEBIAN_VERSION)
    assert (report.engine_version, report.api_version) == ("20.10.24+dfsg1", "1.41")
    assert report.operating_system.startswith("Debian")
    assert (report.docker_desktop, report.rootless) == (False, False)
    assert (report.storage_driver, report.cgroup_version) == ("overlay2", "1")
    assert (report.swarm_state, report.swarm_manager) == ("inactive", False)
    assert (report.kernel_version, report.architecture) == ("6.1.0-18-amd64", "x86_64")
    assert "macvlan" in report.network_drivers
    assert report.firewall_backend is None and report.firewall_source == ""
    # Nothing was probed: those answers stay "not checked", never a guessed False.
    assert report.macvlan is None and report.ipvlan is None and report.nested_hosts is None


def test_docker_desktop_is_recognised_by_its_operating_system():
    report = HostReport.from_daemon(DESKTOP_INFO, {"Version": "27.3.1", "ApiVersion": "1.47"})
    assert report.docker_desktop and not report.rootless
    assert report.cgroup_version == "2"


@pytest.mark.parametrize("options, expected", [
    (["name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"], True),
    (["name=seccomp,profile=default"], False),
    (["name=apparmor", "name=seccomp,profile=default,rootless=true"], False),
    (None, False),
])
def test_rootless_is_the_rootless_security_option(options, expected):
    assert is_rootless({"SecurityOptions": options}) is expected


def test_missing_keys_do_not_break_parsing():
    report = HostReport.from_daemon({}, {})
    assert report.engine_version == "" and report.network_drivers == []
    assert not report.swarm_usable


@pytest.mark.parametrize("backend, expected", [
    ({"Driver": "nftables", "Info": [["ReloadedAt", "2025-01-01T00:00:00Z"]]}, "nftables"),
    ({"Driver": "iptables"}, "iptables"),
    ({"Driver": "iptables+firewalld"}, "iptables"),
    (None, None),
    ({}, None),
])
def test_firewall_backend_from_info(backend, expected):
    info = {"FirewallBackend": backend} if backend is not None else {}
    assert firewall_from_info(info) == expected


def test_a_reported_backend_is_recorded_with_its_source():
    report = HostReport.from_daemon({**DEBIAN_INFO, "FirewallBackend": {"Driver": "nftables"}},
                                    DEBIAN_VERSION)
    assert (report.firewall_backend, report.firewall_source) == ("nftables", "docker info")


# -- probe outputs --------------------------------------------------------------------------


def test_exit_codes_skip_error_messages_between_them():
    output = ("veth=0\nmacvlan=0\nError: Unknown device type.\nipvlan=2\n"
              "RTNETLINK answers: Operation not supported\nvxlan=0\n")
    assert parse_exit_codes(output) == {"veth": True, "macvlan": True, "ipvlan": False,
                                        "vxlan": True}


#: LINK_PROBE's output on this project's kernel (6.18, no ipvlan module), Docker 20.10 and 28.5.
THIS_KERNEL = "veth=0\nveth2=0\nmacvlan=0\nError: Unknown device type.\nipvlan=2\nvxlan=0"
#: iproute2 6.15's words for EBUSY, captured here (a macvlan on a bridge port). ipvlan_link_new
#: refuses a parent whose rx_handler is taken with the same errno and no extack message.
EBUSY = "RTNETLINK answers: Device or resource busy"


def test_the_probe_gives_ipvlan_a_parent_of_its_own():
    # A macvlan on v0 holds v0's rx_handler: ipvlan on v0 would get EBUSY on any kernel.
    steps = [step.split(" type ")[0] for step in capabilities.LINK_PROBE.split("; ")
             if step.startswith("ip link add")]
    assert "ip link add mv0 link v0" in steps and "ip link add iv0 link v2" in steps
    assert capabilities.LINK_PARENTS["ipvlan"] != capabilities.LINK_PARENTS["macvlan"]


def test_links_probe_on_this_projects_kernel():
    assert links_from_probe(THIS_KERNEL) == {"macvlan": True, "ipvlan": False, "vxlan": True}
    readings = link_readings(THIS_KERNEL)
    assert readings["ipvlan"] == (False, "kernel module missing")
    assert readings["macvlan"] == (True, "") and readings["vxlan"] == (True, "")


def test_a_kernel_with_every_module():
    assert link_readings("veth=0\nveth2=0\nmacvlan=0\nipvlan=0\nvxlan=0") == {
        "macvlan": (True, ""), "ipvlan": (True, ""), "vxlan": (True, "")}


def test_busy_parent_reads_parent_busy_not_module_missing():
    works, why = link_readings(f"veth=0\nveth2=0\nmacvlan=0\n{EBUSY}\nipvlan=2\nvxlan=0")["ipvlan"]
    # EBUSY comes from ipvlan's own newlink: the module is there, the probe decided nothing.
    assert works is None and why.startswith("parent busy") and "module missing" not in why


def test_the_old_single_parent_probe_is_not_read_as_module_missing():
    # What the old probe printed on a kernel with both modules: no second pair, ipvlan busy.
    readings = link_readings(f"veth=0\nmacvlan=0\n{EBUSY}\nipvlan=2\nvxlan=0")
    assert readings["ipvlan"][0] is None and "module missing" not in readings["ipvlan"][1]
    assert readings["macvlan"] == (True, "")


def test_older_kernels_say_operation_not_supported():
    output = ("veth=0\nveth2=0\nmacvlan=0\nRTNETLINK answers: Operation not supported\n"
              "ipvlan=2\nvxlan=0")
    assert link_readings(output)["ipvlan"] == (False, "kernel module missing")


def test_an_unknown_error_is_quoted():
    output = "veth=0\nveth2=0\nmacvlan=0\nipvlan=0\nError: something new.\nvxlan=2"
    assert link_readings(output)["vxlan"] == (False, "Error: something new.")


def test_without_a_veth_pair_nothing_else_was_tested():
    # e.g. NET_ADMIN refused: "Operation not permitted" says nothing about macvlan.
    output = "RTNETLINK answers: Operation not permitted\nveth=2\nmacvlan=1"
    assert links_from_probe(output) == {"macvlan": None, "ipvlan": None, "vxlan": None}
    assert "Operation not permitted" in link_readings(output)["macvlan"][1]


def test_a_missing_second_pair_leaves_only_ipvlan_unchecked():
    output = f"veth=0\n{EBUSY}\nveth2=2\nmacvlan=0\nvxlan=0"
    assert links_from_probe(output) == {"macvlan": True, "ipvlan": None, "vxlan": True}


@pytest.mark.parametrize("output, reported, expected", [
    ("iptables-legacy=1\niptables-nft=0\nnftables=1", None, "iptables-nft"),
    ("iptables-legacy=0\niptables-nft=1\nnftables=1", None, "iptables-legacy"),
    ("iptables-legacy=1\niptables-nft=1\nnftables=0", None, "nftables"),
    ("iptables-legacy=1\niptables-nft=0\nnftables=0", "iptables", "iptables-nft"),
    ("iptables-legacy=1\niptables-nft=1\nnftables=1", "iptables", "iptables"),
    ("iptables-legacy=1\niptables-nft=1\nnftables=1", None, None),
    ("", None, None),
])
def test_firewall_backend_from_the_probe(output, reported, expected):
    assert firewall_from_probe(output, reported) == expected


# -- swarm ----------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, usable", [
    ({}, True),
    ({"swarm_state": "active", "swarm_manager": True}, True),
    ({"swarm_state": "active", "swarm_manager": False}, False),  # a worker cannot create overlays
    ({"swarm_state": "locked"}, False),
    ({"rootless": True}, False),
    ({"firewall_backend": "nftables"}, False),
    ({"network_drivers": ["bridge", "host", "null"]}, False),
])
def test_swarm_usable(changes, usable):
    assert full_host(**changes).swarm_usable is usable


# -- the lessons table ----------------------------------------------------------------------


def test_every_syllabus_lesson_has_a_row_in_order():
    rows = lessons_table(full_host())
    syllabus = (Path(__file__).resolve().parents[2] / "lessons" / "README.md").read_text()
    numbers = re.findall(r"^\| (\d\d) \|", syllabus, re.M)
    assert [row.lesson for row in rows] == numbers == [f"{n:02d}" for n in range(16)]
    assert all(row.title for row in rows)


def test_a_host_with_everything_runs_every_lesson_fully():
    rows = lessons_table(full_host())
    assert {row.status for row in rows} == {FULL}
    assert all(row.note == "" for row in rows)


def test_without_the_lab_image_only_lesson_00_runs():
    statuses = status_of(full_host(lab_image_present=False))
    assert statuses.pop("00") == FULL
    assert set(statuses.values()) == {NO}
    assert "python -m dockernet image" in lessons_table(full_host(lab_image_present=False))[1].note


def test_this_projects_machine_macvlan_without_ipvlan():
    rows = {row.lesson: row for row in lessons_table(full_host(ipvlan=False))}
    assert rows["08"].status == PARTIAL and "ipvlan" in rows["08"].note
    assert rows["14"].status == FULL  # lesson 14 measures no ipvlan path
    assert {n for n, row in rows.items() if row.status != FULL} == {"08"}


def test_lesson_08_and_the_doctor_say_why_ipvlan_is_missing():
    report = full_host(ipvlan=False, link_notes={"ipvlan": "kernel module missing"})
    assert "kernel module missing" in lessons_table(report)[8].note
    assert report.to_frame().loc["ipvlan works", "value"] == "no (kernel module missing)"
    busy = full_host(ipvlan=None, link_notes={"ipvlan": "parent busy: the kernel has the module"})
    note = lessons_table(busy)[8].note
    assert "parent busy" in note and "module missing" not in note and "not checked" in note
    assert busy.to_frame().loc["ipvlan works", "value"].startswith("not checked (parent busy")


def test_unprobed_link_support_is_not_claimed():
    assert status_of(full_host(macvlan=None, ipvlan=None))["08"] == PARTIAL


def test_docker_desktop_limits_the_host_level_lessons():
    report = HostReport.from_daemon(DESKTOP_INFO, {"Version": "27.3.1", "ApiVersion": "1.47"},
                                    lab_image_present=True, firewall_backend="iptables-nft",
                                    macvlan=True, ipvlan=True, vxlan=True, nested_hosts=True)
    statuses = status_of(report)
    assert {n for n, s in statuses.items() if s != FULL} == {"03", "05", "10"}
    notes = {row.lesson: row.note for row in lessons_table(report)}
    assert "Docker Desktop" in notes["03"] and "Docker Desktop" in notes["05"]


def test_rootless_limits_ports_host_network_swarm_and_nested_hosts():
    report = HostReport.from_daemon(ROOTLESS_INFO, DEBIAN_VERSION, lab_image_present=True,
                                    firewall_backend="iptables-nft", macvlan=True, ipvlan=True,
                                    vxlan=True, nested_hosts=True)
    partial = {n for n, s in status_of(report).items() if s == PARTIAL}
    assert partial == {"01", "03", "05", "09", "10", "11", "12", "14", "15"}


def test_no_swarm_or_vxlan_limits_the_overlay_lessons():
    assert status_of(full_host(swarm_state="active", swarm_manager=False))["09"] == PARTIAL
    statuses = status_of(full_host(vxlan=False))
    assert statuses["09"] == PARTIAL and statuses["10"] == PARTIAL


def test_no_firewall_rules_found_makes_lesson_03_partial():
    row = lessons_table(full_host(firewall_backend=None))[3]
    assert row.status == PARTIAL and "NAT rules" in row.note


def test_failed_nested_probe_makes_lesson_10_partial():
    assert status_of(full_host(nested_hosts=False))["10"] == PARTIAL
    assert status_of(full_host(nested_hosts=None))["10"] == PARTIAL


def test_no_default_bridge_makes_lesson_01_partial():
    assert status_of(full_host(default_bridge=False))["01"] == PARTIAL


# -- views ----------------------------------------------------------------------------------


def test_views_for_the_notebook_and_the_terminal():
    report = full_host(ipvlan=False, lab_image="dockernet-lab:abc", lab_image_mb=211)
    frame = report.to_frame()
    assert frame.loc["ipvlan works", "value"] == "no"
    assert frame.loc["macvlan works", "value"] == "yes"
    assert frame.loc["lab image", "value"] == "dockernet-lab:abc (211 MB)"
    assert "<table" in report._repr_html_() and "ipvlan works" in report._repr_html_()
    assert "engine version" in str(report) and "20.10.24+dfsg1" in str(report)
    lessons = capabilities.lessons_frame(report)
    assert isinstance(lessons, pd.DataFrame)
    assert list(lessons.columns) == ["title", "status", "note"]
    assert lessons.loc["08", "status"] == PARTIAL


def test_unchecked_values_read_as_not_checked_and_missing_image_says_the_fix():
    report = HostReport.from_daemon(DEBIAN_INFO, DEBIAN_VERSION, lab_image="dockernet-lab:abc")
    frame = report.to_frame()
    assert frame.loc["ipvlan works", "value"] == "not checked"
    assert "python -m dockernet image" in frame.loc["lab image", "value"]


def test_json_view_round_trips_with_the_lessons():
    data = json.loads(json.dumps(full_host(ipvlan=False).to_dict()))
    assert data["engine_version"] == "20.10.24+dfsg1" and data["ipvlan"] is False
    assert data["swarm_usable"] is True
    assert [row["lesson"] for row in data["lessons"]][:2] == ["00", "01"]


def test_no_ipvs_loaded_degrades_only_lesson_09_and_says_docker_may_load_it():
    statuses = status_of(full_host(ipvs=False))
    assert statuses.pop("09") == PARTIAL
    assert set(statuses.values()) == {FULL}
    note = {row.lesson: row.note for row in lessons_table(full_host(ipvs=False))}["09"]
    assert "IPVS" in note and "loads it" in note
    assert status_of(full_host(ipvs=None))["09"] == FULL  # not checked is not a gap


def test_the_ipvs_probe_line_reads_as_a_step():
    assert parse_exit_codes("iptables-legacy=0\nipvs=1") == {"iptables-legacy": True,
                                                              "ipvs": False}


def test_without_macvlan_lesson_08_cannot_run_and_says_where_it_stops():
    rows = {row.lesson: row for row in lessons_table(
        full_host(macvlan=False, link_notes={"macvlan": "kernel module missing"}))}
    assert rows["08"].status == NO
    assert "kernel module missing" in rows["08"].note and "stop" in rows["08"].note
    assert rows["14"].status == PARTIAL  # measures the other paths
