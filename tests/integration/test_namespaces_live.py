"""`none` and `container:` on the real daemon: what each namespace holds, the debug sidecar,
what a restart of the namespace's owner does to it, and bad input that creates nothing."""

import dockernet as dn
import pytest
from dockernet import namespaces
from dockernet.checks import lesson06

LESSON = "06-none-and-container"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON, learner=learner, client=client, quiet=True)


@pytest.fixture
def app_and_debug(lab):
    lab.hello_server("app", message="Hello from app!")
    namespaces.sidecar(lab, "debug", "app")
    return lab


def names(lab):
    return sorted(lab.short_name(c) for c in lab.containers(include_tools=True))


def test_a_none_container_has_only_loopback_and_no_route(lab):
    lab.run("app")
    lab.run("loner", network="none")
    table = namespaces.interfaces(lab, ["app", "loner"])
    assert table[table.container == "loner"].interface.tolist() == ["lo"]
    assert len(table[table.container == "app"]) == 2
    assert lesson06.only_loopback(lab, table, "loner") is table
    lesson06.no_route(lab.exec("loner", f"ip route get {lab.ip('app')}"))
    assert not namespaces.shares_network_namespace(lab, "app", "loner")


def test_a_sidecar_shares_the_network_namespace_only(app_and_debug):
    lab = app_and_debug
    table = namespaces.interfaces(lab, ["app", "debug"])
    lesson06.shares_namespace(table, "app", "debug")
    lab.curl("debug", "http://localhost:8000").expect_success(contains="Hello from app!")
    compared = namespaces.compare(lab, "app", "debug")
    assert compared["same"].to_dict() == {"net": True, "pid": False, "mnt": False, "uts": False,
                                          "ipc": False, "hostname": True}
    sockets = lab.exec("debug", "ss -ltn").expect_success()
    processes = lab.exec("debug", "ps -e -o pid,comm").expect_success()
    lesson06.sees_sockets_not_processes(sockets, processes, port=8000)
    # Docker made no endpoint for it: the endpoint table has no row for debug.
    assert "debug" not in set(dn.tables.endpoints(lab).container)


def test_the_sidecar_captures_the_traffic_of_the_container_it_joined(app_and_debug):
    lab = app_and_debug
    lab.run("client")
    url = f"http://{lab.ip('app')}:8000"
    packets = namespaces.capture(lab, "debug", "tcp port 8000",
                                 during=lambda: lab.curl("client", url).expect_success())
    assert packets.ok, packets.output
    lesson06.capture_holds(lab, packets, client="client", server="app")


def test_a_restart_of_the_owner_leaves_the_sidecar_in_the_old_namespace(app_and_debug):
    lab = app_and_debug
    before = namespaces.namespace_of(lab, "debug")
    namespaces.restart(lab, "app", port=8000)
    after = namespaces.interfaces(lab, ["app", "debug"])
    lesson06.left_behind(lab, after, "app", "debug")
    assert namespaces.namespace_of(lab, "debug") == before
    assert lab.get_container("debug").status == "running"
    lab.curl("debug", "http://localhost:8000", timeout=1).expect_failure()
    namespaces.restart(lab, "debug")
    assert namespaces.shares_network_namespace(lab, "app", "debug")
    lab.curl("debug", "http://localhost:8000").expect_success(contains="Hello from app!")
    # Re-running the cell that made the sidecar, after another restart, joins it again.
    namespaces.restart(lab, "app", port=8000)
    namespaces.sidecar(lab, "debug", "app")
    assert namespaces.shares_network_namespace(lab, "app", "debug")


def test_while_the_owner_is_stopped_the_sidecar_cannot_start(app_and_debug, capsys):
    lab = app_and_debug
    lab.get_container("app").stop(timeout=2)
    lesson06.docker_refuses_to_join(lab, "debug", "app")
    assert "non running container" in capsys.readouterr().out
    with pytest.raises(dn.LabError, match="non running container"):
        namespaces.restart(lab, "debug")
    with pytest.raises(dn.LabError, match="running"):
        namespaces.sidecar(lab, "debug2", "app")
    assert "debug2" not in names(lab)
    namespaces.restart(lab, "app", port=8000)
    namespaces.restart(lab, "debug")
    lab.curl("debug", "http://localhost:8000").expect_success()


def test_docker_refuses_published_ports_in_container_mode(app_and_debug, capsys):
    lab = app_and_debug
    lesson06.docker_refuses_publishing(lab, "app")
    assert "conflicting options: port publishing" in capsys.readouterr().out
    with pytest.raises(dn.LabError, match="port publishing"):
        lab.run("published", network="container:app", ports={"8000/tcp": None})
    assert names(lab) == ["app", "debug"]


def test_bad_input_creates_nothing(lab):
    lab.run("app")
    with pytest.raises(dn.UnknownObject):
        lab.run("x", network="container:nosuch")
    with pytest.raises(dn.UnknownObject):
        namespaces.sidecar(lab, "x", "nosuch")
    with pytest.raises(dn.LabError, match="own namespace"):
        namespaces.sidecar(lab, "app", "app")
    with pytest.raises(dn.LabError):
        lab.run("x", network="service:app")          # Compose's spelling, not Docker's
    with pytest.raises(dn.LabError, match="kind"):
        namespaces.namespace_of(lab, "app", "cgroupz")
    with pytest.raises(dn.LabError):
        namespaces.compare(lab, "app", "app")
    assert names(lab) == ["app"]


def test_a_second_server_on_the_same_port_dies_and_another_port_works(app_and_debug):
    lab = app_and_debug
    with pytest.raises(dn.LabError, match="Address already in use"):
        lab.hello_server("web2", network="container:app")
    assert "web2" not in names(lab)
    assert not lesson06.second_server(lab, "b").passed          # right, but web2 is not there
    lab.hello_server("web2", network="container:app", port=8001, message="Hello from web2!")
    assert lesson06.second_server(lab, "b").passed
    assert not lesson06.second_server(lab, "a").passed


def test_a_sidecar_of_a_none_container_gets_only_what_it_has(app_and_debug):
    lab = app_and_debug
    lab.run("loner", network="none")
    truth = {"has_eth0": False, "reaches_app": False, "in_loners_namespace": True,
             "hostname_is_loner": True}
    assert "start debug2" in lesson06.none_sidecar_prediction(lab, truth).hint
    namespaces.sidecar(lab, "debug2", "loner")
    assert lesson06.sidecar_of_none(lab) == truth
    assert lesson06.none_sidecar_prediction(lab, truth).passed
    assert "1 of 4" in lesson06.none_sidecar_prediction(lab, {**truth, "has_eth0": True}).hint
