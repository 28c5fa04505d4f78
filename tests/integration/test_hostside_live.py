"""A service on the host, probes from the host and host-gateway, on the real daemon.

Each test makes a lab of its own (a fresh learner id from the fixtures) and the
fixture removes whatever it left.
"""

import dockernet as dn
import pytest
from dockernet import hostside, ports
from dockernet.checks import lesson05
from dockernet.cleanup import lab_objects

LESSON_ID = "95-hostside-tests"
HOST_GATEWAY = {hostside.HOST_NAME: "host-gateway"}


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def containers(lab) -> set[str]:
    return {lab.short_name(c) for c in lab.containers(include_tools=True)}


def test_a_host_service_answers_on_the_hosts_loopback_and_not_in_a_container(lab):
    service = hostside.host_service(lab, "host-app")
    assert hostside.host_curl(lab, service.url()).output == hostside.HOST_MESSAGE
    refused = lab.curl(lab.run("box"), service.url(), timeout=1)
    assert refused.exit_code == 7, refused.output      # box's own 127.0.0.1: refused at once
    again = hostside.host_service(lab, "host-app", port=service.port)
    assert again == service and len(lab.containers()) == 2, "a re-run keeps the running server"


@pytest.mark.parametrize("bind", ["192.0.2.250", "10.255.255.254", "localhost", "", None])
def test_a_bind_address_the_host_does_not_have_is_refused_before_anything_starts(lab, bind):
    with pytest.raises(dn.LabError, match="not an IPv4 address of this host"):
        hostside.host_service(lab, "nowhere", bind=bind)
    assert "nowhere" not in containers(lab)


@pytest.mark.parametrize("port", [0, 70000, "8080", True])
def test_a_bad_port_is_refused_before_anything_starts(lab, port):
    with pytest.raises(dn.LabError, match="port number from 1 to 65535"):
        hostside.host_service(lab, "badport", port=port)
    assert "badport" not in containers(lab)


def test_a_second_server_on_a_taken_port_fails_every_time_and_leaves_nothing(lab):
    first = hostside.host_service(lab, "first")
    for attempt in range(3):  # the first server answering for the second must never fool it
        with pytest.raises(dn.LabError, match="Address already in use"):
            hostside.host_service(lab, f"second{attempt}", port=first.port)
    assert containers(lab) == {"first", "host-view"}
    assert hostside.host_curl(lab, first.url()).ok, "the first one still serves"
    message = lesson05.second_server_fails(lab, "third", first.port)
    assert "could not listen on 127.0.0.1" in message and str(first.port) in message


def test_host_gateway_is_the_default_bridges_gateway_on_every_network(lab):
    lab.network("app-net")
    lab.run("client", extra_hosts=HOST_GATEWAY)
    lab.run("app", network="app-net", extra_hosts=HOST_GATEWAY)
    table = hostside.host_entries(lab, ["client", "app"]).set_index("container")
    gateway = hostside.default_bridge_gateway(lab)
    assert hostside.host_gateway(lab)[0] == gateway
    assert table[hostside.HOST_NAME].tolist() == [gateway, gateway]
    assert table.loc["app", "default gateway"] != gateway, "app's own gateway is app-net's"
    assert lesson05.host_gateway_holds(lab, table.reset_index()) is not None


def test_who_reaches_which_bind_address_follows_the_rule(lab):
    gateway = hostside.default_bridge_gateway(lab)
    loopback = hostside.host_service(lab, "on-loopback")
    on_gateway = hostside.host_service(lab, "on-gateway", bind=gateway,
                                       port=ports.host_port(lab, after=loopback.port))
    lab.network("app-net")
    lab.run("client", extra_hosts=HOST_GATEWAY)
    lab.run("app", network="app-net", extra_hosts=HOST_GATEWAY)
    callers = [(hostside.HOST, "127.0.0.1"), (hostside.HOST, gateway), ("client", "localhost"),
               ("client", hostside.HOST_NAME), ("app", hostside.HOST_NAME)]
    table = hostside.reach_table(lab, callers, [loopback, on_gateway])
    assert table.to_numpy().tolist() == [[True, False], [False, True], [False, False],
                                         [False, True], [False, True]]
    lesson05.bind_rule_holds(lab, table, callers, [loopback, on_gateway])


def test_host_network_containers_share_the_host_namespace_and_its_interfaces(lab):
    hostside.host_service(lab, "host-app")
    lab.run("box")
    spaces = hostside.net_namespaces(lab, ["host-app", "host-view", "box"])
    lesson05.shares_the_host_namespace(spaces)
    inside = hostside.interfaces(lab, "host-app")
    lesson05.sees_the_host_interfaces(lab, inside)
    on_bridge = hostside.interfaces(lab, "box").set_index("kind")
    assert on_bridge["interfaces"].to_dict() == {"loopback": 1, "veth": 1}
    assert on_bridge.loc["veth", "IPv4 addresses"].startswith(lab.ip("box") + "/")


def test_the_worker_check_hints_at_each_mistake(lab):
    gateway = hostside.default_bridge_gateway(lab)
    service = hostside.host_service(lab, "gw-app", bind=gateway)
    lab.network("app-net")
    assert "start it" in lesson05.worker_reaches_the_host(lab, service).hint
    lab.run("worker", extra_hosts=HOST_GATEWAY)
    assert "app-net" in lesson05.worker_reaches_the_host(lab, service).hint
    lab.run("worker", network="app-net", extra_hosts={hostside.HOST_NAME: gateway})
    assert "special value" in lesson05.worker_reaches_the_host(lab, service).hint
    lab.run("worker", network="app-net", extra_hosts=HOST_GATEWAY)
    assert lesson05.worker_reaches_the_host(lab, service).passed


def test_cleanup_removes_the_host_services(client, lab, learner):
    hostside.host_service(lab, "host-app", bind="0.0.0.0")
    lab.cleanup()
    assert not any(lab_objects(client, learner=learner).values())


def test_a_server_fooled_by_another_ones_answer_is_still_caught(lab, monkeypatch):
    # The race a busy host shows: hello_server's readiness curl is answered by the server that
    # holds the port, while ours has not failed yet. Play "ours" by a process that never listens
    # and exits a second later: host_service must wait for its own listener and report the exit.
    first = hostside.host_service(lab, "first")

    def fooled(name, **_):
        return lab.run(name, ["sh", "-c", "echo 'OSError: [Errno 98] Address already in use'; "
                                          "sleep 1; exit 1"], network="host")

    monkeypatch.setattr(lab, "hello_server", fooled)
    with pytest.raises(dn.LabError, match="could not listen.*Address already in use"):
        hostside.host_service(lab, "late", port=first.port)
    assert "late" not in containers(lab), "nothing half-made is left"
