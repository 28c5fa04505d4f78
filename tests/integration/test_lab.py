"""Lab sessions on the real daemon: labels, get-or-create, reset, cleanup, isolation, bad input."""

import ipaddress

import docker
import dockernet as dn
import pytest
from dockernet import addressing
from dockernet.cleanup import lab_objects, remove_lab_objects
from dockernet.naming import LAB, LEARNER, LESSON, SESSION, SHORT_NAME

LESSON_ID = "91-lab-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def snapshot(client):
    """Every object on the daemon, lab or not, by id."""
    return ({c.id for c in client.containers.list(all=True)},
            {n.id for n in client.networks.list()},
            {v.name for v in client.volumes.list()})


def test_everything_created_carries_the_lab_labels(lab, learner):
    container = lab.run("web")
    network = lab.network("my-net")
    volume = lab.volume("data")
    for labels in (container.labels, network.attrs["Labels"], volume.attrs["Labels"]):
        assert labels[LAB] == "1"
        assert labels[LEARNER] == learner
        assert labels[LESSON] == LESSON_ID
        assert labels[SESSION] == lab.session
    assert container.name == f"dn-{learner}-91-web"
    assert container.labels[SHORT_NAME] == "web"
    assert container.status == "running"


def test_same_spec_returns_the_same_object_and_a_new_spec_replaces_it(lab, client):
    first = lab.run("web", ["sleep", "300"])
    assert lab.run("web", ["sleep", "300"]).id == first.id
    changed = lab.run("web", ["sleep", "301"])
    assert changed.id != first.id
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(first.id)
    net = lab.network("my-net")
    assert lab.network("my-net").id == net.id
    internal = lab.network("my-net", internal=True)
    assert internal.id != net.id and internal.attrs["Internal"] is True
    assert len(lab.networks()) == 1


def test_replacing_a_network_detaches_the_labs_own_containers(lab):
    lab.network("my-net")
    first = lab.run("web", network="my-net")
    replaced = lab.network("my-net", hosts=300)
    assert ipaddress.ip_network(replaced.attrs["IPAM"]["Config"][0]["Subnet"]).prefixlen == 23
    # Re-running the container's cell puts it on the new network, not the old one's ghost.
    again = lab.run("web", network="my-net")
    assert again.id != first.id
    assert ipaddress.ip_address(lab.ip("web", "my-net")) in ipaddress.ip_network(
        replaced.attrs["IPAM"]["Config"][0]["Subnet"])


def test_a_stopped_container_gives_one_clear_error_when_probed(lab):
    lab.run("web").stop(timeout=1)
    with pytest.raises(dn.LabError, match="cannot run a command in 'web'.*Re-run the cell"):
        lab.exec("web", "true")


def test_a_stopped_container_is_recreated_running(lab):
    container = lab.run("web")
    container.stop(timeout=1)
    assert lab.run("web").status == "running"


def test_a_new_lab_resets_its_lesson_only(client, lab_image, learner):
    dead_kernel = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    dead_kernel.run("web")
    dead_kernel.network("my-net")
    other_lesson = dn.Lab("92-other", learner=learner, client=client, quiet=True)
    kept = other_lesson.run("web")
    fresh = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    assert fresh.containers() == [] and fresh.networks() == []
    assert client.containers.get(kept.id).status == "running"


def test_cleanup_is_ordered_verified_and_safe_twice(lab, client, learner):
    lab.network("my-net")
    lab.run("web", network="my-net")
    lab.volume("data")
    removed = lab.cleanup()
    assert (removed.containers, removed.networks, removed.volumes) == (["web"], ["my-net"], ["data"])
    assert not any(lab_objects(client, learner=learner).values())
    assert not lab.cleanup()  # nothing left, nothing to do, no error


def test_objects_without_our_labels_survive_every_cleanup_path(lab, client, learner):
    name = lab.name("web")
    foreign = [
        client.containers.create(lab.image, ["sleep", "60"], name=name),
        client.containers.create(lab.image, ["sleep", "60"], name=f"{name}-x",
                                 labels={LEARNER: learner, LESSON: LESSON_ID, SHORT_NAME: "x"}),
    ]
    foreign_net = client.networks.create(lab.name("my-net"))
    foreign_volume = client.volumes.create(lab.name("data"), labels={LEARNER: learner})
    try:
        with pytest.raises(dn.LabError, match="did not create"):
            lab.run("web")  # its Docker name is taken by an object the lab must not touch
        with pytest.raises(dn.LabError, match="did not create"):
            lab.volume("data")  # Docker would hand back the foreign volume: refused
        with pytest.raises(dn.UnknownObject):
            lab.connect(foreign[0], "bridge")  # an SDK object the lab did not make
        lab.cleanup()
        dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)  # the reset path
        # The instructor's --all-learners path (learner=None), kept to this test's lesson so a
        # test run never removes other learners' objects on a shared daemon.
        remove_lab_objects(client, lesson=LESSON_ID)
        for container in foreign:
            assert client.containers.get(container.id)
        assert client.networks.get(foreign_net.id)
        assert client.volumes.get(foreign_volume.name)
    finally:
        for container in foreign:
            container.remove(force=True)
        foreign_net.remove()
        foreign_volume.remove()


def test_two_learners_share_a_daemon_without_seeing_each_other(client, lab_image, learner,
                                                               other_learner):
    alice = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    bob = dn.Lab(LESSON_ID, learner=other_learner, client=client, quiet=True)
    for lab in (alice, bob):
        lab.network("my-net")
        lab.hello_server("helloworld", network="my-net", message=f"hi from {lab.learner}")
        lab.run("client", network="my-net")
    subnets = {lab.learner: lab.get_network("my-net").attrs["IPAM"]["Config"][0]["Subnet"]
               for lab in (alice, bob)}
    assert subnets[learner] != subnets[other_learner]
    # each learner's short name resolves to their own server only
    alice.curl("client", "http://helloworld:8000").expect_success(contains=f"hi from {learner}")
    bob.curl("client", "http://helloworld:8000").expect_success(contains=f"hi from {other_learner}")
    assert {c.id for c in alice.containers()}.isdisjoint(c.id for c in bob.containers())
    alice.cleanup()
    assert bob.get_container("helloworld").status == "running"
    bob.curl("client", "http://helloworld:8000").expect_success()


@pytest.mark.parametrize("call, error", [
    (lambda lab: lab.network("bad", subnet="10.0.0.300/24"), "valid IPv4 CIDR"),
    (lambda lab: lab.network("bad", subnet="172.17.0.0/24"), "overlaps"),
    (lambda lab: lab.network("bad", subnet="10.123.45.0/30", hosts=5), "holds 1 container"),
    (lambda lab: lab.network("bridge"), "Docker's own networks"),
    (lambda lab: lab.network("Bad Net"), "lower-case"),
    (lambda lab: lab.run("web", network="no-such-net"), "no network 'no-such-net'"),
    (lambda lab: lab.run("web", aliases=["api"]), "user-defined networks only"),
    (lambda lab: lab.run("web", network="service:app"), "use network='container:app'"),
    (lambda lab: lab.run("web", network="container:ghost"), "no container 'ghost'"),
    (lambda lab: lab.run("web", image_tag="dockernet-never-built:1"), "never pulls"),
    (lambda lab: lab.curl("ghost", "http://x:8000"), "no container 'ghost'"),
    (lambda lab: lab.connect("ghost", "bridge"), "no container 'ghost'"),
])
def test_bad_input_raises_one_clear_error_and_creates_nothing(lab, client, call, error):
    if "overlaps" in error:
        client.networks.get("bridge")  # the default bridge is 172.17.0.0/16 on a stock engine
    before = snapshot(client)
    with pytest.raises(dn.LabError, match=error):
        call(lab)
    assert snapshot(client) == before


def test_overlap_with_another_lab_network_is_refused(lab):
    taken = lab.network("first").attrs["IPAM"]["Config"][0]["Subnet"]
    with pytest.raises(dn.LabError, match="overlaps .*first"):
        lab.network("second", subnet=taken)
    assert [lab.short_name(n) for n in lab.networks()] == ["first"]


def test_lab_networks_work_when_dockers_default_pools_are_used_up(lab, client, learner):
    """Fill Docker's own pools with networks (labelled as this test learner's), then allocate."""
    filler_labels = {LAB: "1", LEARNER: learner, LESSON: "93-filler", SHORT_NAME: "filler"}
    exhausted = False
    for index in range(80):  # Docker's default pools hold about 31 networks
        try:
            client.networks.create(f"dn-{learner}-filler-{index}", labels=filler_labels)
        except docker.errors.APIError as exc:
            assert "pool" in str(exc).lower()
            exhausted = True
            break
    assert exhausted, "Docker's default pools never ran out: the test did not test anything"
    network = lab.network("after")
    subnet = ipaddress.ip_network(network.attrs["IPAM"]["Config"][0]["Subnet"])
    assert subnet.subnet_of(lab.pool)


def test_two_hundred_lab_networks_on_one_daemon(lab, client):
    subnets = set()
    for index in range(200):
        network = lab.network(f"n{index}")
        subnets.add(network.attrs["IPAM"]["Config"][0]["Subnet"])
    assert len(subnets) == 200
    taken = [net for _, net in addressing.docker_subnets(client)]
    lab_nets = [ipaddress.ip_network(s) for s in subnets]
    for subnet in lab_nets:
        assert sum(subnet.overlaps(other) for other in taken) == 1  # only itself
    assert len(lab.cleanup().networks) == 200
