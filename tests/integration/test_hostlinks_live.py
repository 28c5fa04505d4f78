"""dockernet.hostlinks on the real daemon: the lab parent, the host's reach, the shim, cleanup.

Every link here lives in the daemon's host network namespace (on the test engine, the
engine container's). The tests send traffic only to containers they made, and only after
the host's route to them was read; each test uses its own learner id (``learner`` fixture).
"""

import dockernet as dn
import pytest
from dockernet import hostlinks, hostview
from dockernet.errors import LabError

LESSON_ID = "93-hostlinks-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def _macvlan_lan(lab):
    return lab.network("lan", driver="macvlan", options={"parent": hostlinks.parent(lab)},
                       gateway=None, aux_addresses=hostlinks.RESERVED)


def _link_names(lab) -> set:
    return {link["ifname"] for link in hostview.host_links(lab, details=False)}


def test_the_host_reaches_its_macvlan_containers_only_through_the_shim(lab):
    net = _macvlan_lan(lab)
    for name in ("mv1", "mv2"):
        lab.run(name, network="lan")
    lab.ping("mv1", lab.ip("mv2", "lan")).expect_success()          # neighbours on the parent
    host_addr = hostlinks.host_address(lab, "lan")
    assert host_addr == f"{hostlinks.reserved_address(net.attrs, 'host')}/24"
    names = hostlinks.link_names(lab.learner, lab.lesson)

    before = hostlinks.host_reach(lab, ["mv1", "mv2"], "lan")
    assert set(before["host route via"]) == {names["parent"]}, before
    assert not before["host ping"].any(), before
    lab.ping("mv1", host_addr.split("/")[0], timeout=1).expect_failure()

    hostlinks.shim(lab, "lan", ["mv1", "mv2"])
    after = hostlinks.host_reach(lab, ["mv1", "mv2"], "lan")
    assert set(after["host route via"]) == {names["shim"]}, after
    assert after["host ping"].all(), after
    shim_address = hostlinks.reserved_address(net.attrs, "shim")
    assert set(after["host source"]) == {shim_address}
    lab.ping("mv1", shim_address).expect_success()
    # Docker never handed out the reserved addresses.
    assert {lab.ip(name, "lan") for name in ("mv1", "mv2")}.isdisjoint(
        {shim_address, host_addr.split("/")[0]})


def test_cleanup_removes_the_lab_links_and_nothing_else(lab, client):
    _macvlan_lan(lab)
    lab.run("mv1", network="lan")
    hostlinks.host_address(lab, "lan")
    hostlinks.shim(lab, "lan", ["mv1"])
    ours = {row["name"] for row in hostlinks.lab_links(lab)}
    assert len(ours) == 3, ours                     # the parent pair and the shim
    # Links the lab did not make: one with a lab-like name and no alias, one with another
    # learner's alias. Made by hand, through the host view, and deleted by this test.
    names = hostlinks.link_names(lab.learner, lab.lesson)
    foreign, other = names["ipvlan-parent"], "dn" + lab.learner[:7] + "-zz"
    hostview.host_exec(lab, f"ip link add {foreign} type veth peer name {foreign}p && "
                            f"ip link add {other} type veth peer name {other}p && "
                            f"ip link set {other} alias 'dockernet someone-else {lab.lesson}'"
                       ).expect_success()
    try:
        with pytest.raises(LabError, match="did not make"):
            hostlinks.parent(lab, "ipvlan")        # refuses to adopt the foreign link
        lab.cleanup()
        left = _link_names(dn.Lab("94-hostlinks-look", learner=lab.learner, client=client,
                                  quiet=True))
        assert not ours & left, ours & left
        assert {foreign, f"{foreign}p", other, f"{other}p"} <= left
        assert hostlinks.lab_links(lab) == []
    finally:
        hostview.host_exec(lab, f"ip link del {foreign}; ip link del {other}")
        lab.cleanup()
    assert not {foreign, other} & _link_names(lab)
    lab.cleanup()


def test_host_reach_refuses_a_route_that_leaves_the_lab_links(lab):
    _macvlan_lan(lab)
    lab.run("mv1", network="lan")
    # No host address on the parent yet: the host's route to mv1 is not through a lab link
    # (it would follow the host's default route), so nothing may be sent.
    with pytest.raises(LabError, match="not a lab link"):
        hostlinks.host_reach(lab, ["mv1"], "lan")


def test_a_network_on_another_parent_gets_no_address(lab):
    lab.network("plain")                                       # a bridge: no lab parent
    with pytest.raises(LabError, match="lab parent"):
        hostlinks.host_address(lab, "plain")
    assert hostlinks.lab_links(lab) == []
    with pytest.raises(LabError, match="macvlan' or 'ipvlan"):
        hostlinks.parent(lab, "vlan")


def test_ipvlan_is_built_where_the_kernel_has_it_and_refused_cleanly_elsewhere(lab, client):
    from dockernet import capabilities

    report = capabilities.host_report(client, learner=lab.learner)
    if report.ipvlan:
        net = hostlinks.ipvlan_network(lab, "ip-lan", report.ipvlan)
        assert net.attrs["Driver"] == "ipvlan"
        assert net.attrs["Options"]["parent"] == hostlinks.link_names(
            lab.learner, lab.lesson)["ipvlan-parent"]
        lab.run("iv1", network="ip-lan")
        lab.run("iv2", network="ip-lan")
        lab.ping("iv1", lab.ip("iv2", "ip-lan")).expect_success()
        assert hostlinks.link_table(lab, ["iv1", "iv2"], "ip-lan")["MAC"].nunique() == 1
    else:
        with pytest.raises(LabError, match="no ipvlan network here"):
            hostlinks.ipvlan_network(lab, "ip-lan", report.ipvlan,
                                     report.link_notes.get("ipvlan", ""))
        assert hostlinks.lab_links(lab) == [] and lab.networks() == []
