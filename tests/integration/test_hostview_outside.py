"""The host view and the in-lab outside world, on the real daemon.

Learner ids here (``hbtest``, ``hbtest2``, ``hbtestobs``) are this file's own; every
test removes what it made, and the outside world's veth pair must vanish with
the lab's containers.
"""

import ipaddress
import time

import dockernet as dn
import pytest
from dockernet import hostview, outside, probe
from dockernet.cleanup import lab_objects, remove_lab_objects

LESSON_ID = "91-hostview-tests"
LEARNERS = ("hbtest", "hbtest2", "hbtestobs")


@pytest.fixture
def labs(client, lab_image):
    """Make labs for this file's learner ids; remove all their objects afterwards."""
    made = []

    def make(learner="hbtest"):
        assert learner in LEARNERS
        lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
        made.append(lab)
        return lab

    yield make
    for learner in LEARNERS:
        remove_lab_objects(client, learner=learner)
        assert not any(lab_objects(client, learner=learner).values())


def interface_names(observer) -> set:
    """Interface names on the host, as a separate lab's host view sees them."""
    return {link["ifname"] for link in hostview.host_links(observer, details=False)}


def wait_until_gone(observer, name: str, seconds: float = 5) -> bool:
    # The kernel tears a network namespace down asynchronously: poll, bounded.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if name not in interface_names(observer):
            return True
        time.sleep(0.2)
    return False


def bridge_subnet(client) -> ipaddress.IPv4Network:
    config = client.networks.get("bridge").attrs["IPAM"]["Config"]
    return next(ipaddress.ip_network(c["Subnet"]) for c in config
                if ipaddress.ip_network(c["Subnet"]).version == 4)


def test_host_view_is_a_labelled_tool_left_out_of_the_lessons_containers(labs):
    lab = labs()
    view = hostview.host_view(lab)
    assert view.labels["dockernet.role"] == "tool"
    assert view.attrs["HostConfig"]["NetworkMode"] == "host"
    assert view.id not in [c.id for c in lab.containers()]
    assert view.id in [c.id for c in lab.containers(include_tools=True)]
    assert hostview.host_view(lab).id == view.id, "get-or-create: the same helper again"


def test_host_interfaces_show_docker0_with_the_bridge_gateway(labs, client):
    lab = labs()
    interfaces = hostview.host_interfaces(lab).set_index("name")
    docker0 = interfaces.loc["docker0"]
    assert docker0["kind"] == "bridge"
    subnet = bridge_subnet(client)
    addresses = [ipaddress.ip_interface(a) for a in docker0["addresses"]]
    assert any(a.network == subnet for a in addresses), (subnet, addresses)
    assert set(hostview.host_interfaces(lab, bridge="docker0")["master"].dropna()) <= {"docker0"}


def test_veth_pairs_match_each_container_to_its_host_end_and_bridge(labs):
    lab = labs()
    lab.run("on-bridge")
    net = lab.network("my-net")
    lab.run("on-my-net", network="my-net")
    lab.run("in-host", network="host")  # no veth of its own: skipped
    pairs = hostview.veth_pairs(lab).set_index("container")
    assert sorted(pairs.index) == ["on-bridge", "on-my-net"]
    assert pairs.loc["on-bridge", "bridge"] == "docker0"
    assert pairs.loc["on-bridge", "network"] == "bridge"
    assert pairs.loc["on-my-net", "bridge"] == f"br-{net.id[:12]}"
    assert pairs.loc["on-my-net", "network"] == "my-net"
    host = hostview.host_interfaces(lab, prefixes=None).set_index("name")
    for container, row in pairs.iterrows():
        # The container's own view (eth0@ifN) agrees with the host's interface index N.
        inside = lab.exec(container, "ip -o link show eth0").expect_success().output
        assert f"eth0@if{row.peer_index}:" in inside
        assert host.loc[row.host_if, "index"] == row.peer_index
        assert host.loc[row.host_if, "kind"] == "veth"
        assert host.loc[row.host_if, "master"] == row.bridge


def test_link_by_index_finds_a_containers_veth_by_the_number_inside_it(labs):
    lab = labs()
    lab.run("on-bridge")
    row = hostview.veth_pairs(lab).set_index("container").loc["on-bridge"]
    shown = hostview.link_by_index(lab, str(row.peer_index))   # "17" works as well as 17
    assert shown.output.startswith(f"{row.peer_index}: {row.host_if}@"), shown.output
    assert "master docker0" in shown.output


@pytest.mark.parametrize("index", ["eth0@if17", 0, -3, True, None])
def test_link_by_index_refuses_what_is_not_an_index_and_starts_nothing(labs, index):
    lab = labs()
    with pytest.raises(dn.LabError, match="not an interface index"):
        hostview.link_by_index(lab, index)
    assert lab.containers(include_tools=True) == []


def test_link_by_index_says_when_no_interface_has_that_index(labs):
    lab = labs()
    unused = max(link["ifindex"] for link in hostview.host_links(lab, details=False)) + 100_000
    with pytest.raises(dn.LabError, match=f"no interface with index {unused}"):
        hostview.link_by_index(lab, unused)


def test_outside_world_sees_the_hosts_address_and_its_link_goes_with_cleanup(labs):
    lab, observer = labs(), labs("hbtestobs")
    world = outside.outside_world(lab)
    subnet = ipaddress.ip_network(world.subnet)
    assert subnet.prefixlen == 30
    assert any(subnet.subnet_of(ipaddress.ip_network(p)) for p in outside.OUTSIDE_POOLS)
    assert {world.address, world.host_address} == {str(a) for a in subnet.hosts()}
    assert len(world.host_if) <= 15 and world.host_if in interface_names(observer)
    assert world.check_route()["dev"] == world.host_if

    client_container = lab.run("client")  # on the default bridge
    seen = world.curl(client_container).expect_success()
    assert seen.output == world.host_address, "MASQUERADE: the outside sees the host's address"
    assert seen.output != lab.ip("client")

    again = outside.outside_world(lab)
    assert (again.container.id, again.address, again.host_if) == \
        (world.container.id, world.address, world.host_if), "get-or-create returns the same world"

    lab.cleanup()
    assert wait_until_gone(observer, world.host_if), f"{world.host_if} outlived the cleanup"


def test_two_learners_get_separate_links_that_both_work(labs):
    first, second, observer = labs("hbtest"), labs("hbtest2"), labs("hbtestobs")
    world1, world2 = outside.outside_world(first), outside.outside_world(second)
    assert world1.host_if != world2.host_if
    assert not ipaddress.ip_network(world1.subnet).overlaps(ipaddress.ip_network(world2.subnet))
    assert world1.curl(first.run("client")).expect_success().output == world1.host_address
    assert world2.curl(second.run("client")).expect_success().output == world2.host_address

    first.cleanup()
    assert wait_until_gone(observer, world1.host_if)
    assert world2.host_if in interface_names(observer), "one learner's cleanup spares the other's"
    seen = world2.curl(second.get_container("client")).expect_success()
    assert seen.output == world2.host_address


def test_a_half_built_link_is_refused_before_sending_then_repaired(labs):
    lab = labs()
    world = outside.outside_world(lab)
    client_container = lab.run("client")
    # Unplug the cable behind the lab's back: the route to the server now leaves by the
    # host's default route, so the probe must refuse to send anything.
    wire = lab.run(outside.WIRE, network="host", pid_mode="host",
                   cap_add=["NET_ADMIN", "SYS_ADMIN"], role="tool")
    probe.run(wire, ["ip", "link", "del", world.host_if]).expect_success()
    with pytest.raises(dn.LabError, match="nothing was sent"):
        world.curl(client_container)
    repaired = outside.outside_world(lab)
    assert repaired.container.id == world.container.id
    assert repaired.curl(client_container).expect_success().output == repaired.host_address


def test_an_interface_the_lab_did_not_create_is_never_touched(labs):
    lab, stranger = labs("hbtest"), labs("hbtest2")
    host_if, _ = outside.interface_names(outside.link_key(lab.learner, lab.lesson, "outside"))
    # Another party's interface that happens to have the lab's name (but not its alias).
    tool = stranger.run("maker", network="host", cap_add=["NET_ADMIN"], role="tool")
    probe.run(tool, f"ip link add {host_if} type veth peer name {host_if[:-1]}z").expect_success()
    try:
        with pytest.raises(dn.LabError, match="not this lab's"):
            outside.outside_world(lab)
        assert host_if in interface_names(stranger), "the stranger's interface is still there"
    finally:
        probe.run(tool, f"ip link del {host_if}")


def test_bad_name_raises_and_creates_nothing(labs):
    lab = labs()
    with pytest.raises(dn.LabError):
        outside.outside_world(lab, name="Not A Name!")
    assert lab.containers(include_tools=True) == []
