"""Compose projects on the real daemon: names, labels, subnets, cleanup, and the missing path.

They run ``docker compose`` from this machine's CLI against whichever daemon ``DOCKER_HOST``
names (the host's engine, or the Docker 28 test engine). Compose v2 missing is a failure with
the fix, not a skip: ``.ci/install-compose`` installs it.
"""

import ipaddress
import time

import dockernet as dn
import pytest
from dockernet import compose
from dockernet.checks import lesson13
from dockernet.cleanup import lab_objects

LESSON_ID = "13-compose-networking"


@pytest.fixture
def lab(client, lab_image, learner):
    if not compose.version():
        pytest.fail(compose.HOW_TO_GET, pytrace=False)
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    yield lab
    lab.cleanup()


def hello(lab):
    return compose.Project(lab, "hello", {
        "web": compose.hello_service(lab, ports=[f"127.0.0.1:{dn.ports.host_port(lab)}:8000"]),
        "client": compose.idle_service(lab)})


def test_up_names_labels_and_a_lab_subnet_then_cleanup_removes_it_all(lab, client):
    project = hello(lab)
    assert project.up().ok
    table = lesson13.named_as_compose_does(project)
    assert set(table.container) == {project.container_name(s) for s in ("web", "client")}
    nets = lesson13.one_network_for_all(project)
    assert ipaddress.ip_network(nets.subnet.iloc[0]).subnet_of(lab.pool)
    # The lab's own lookups work on Compose's containers (short name <stack>-<service>-1).
    assert lab.curl("hello-client-1", "http://web:8000/").output == "Hello Docker!"
    assert project.up().output.count("Recreate") == 0, "a second up changes nothing"
    removed = lab.cleanup()
    assert {"hello-web-1", "hello-client-1"} <= set(removed.containers)
    assert "hello_default" in removed.networks
    assert not any(lab_objects(client, lab.learner, LESSON_ID).values())
    assert not project.directory.exists()


def test_service_names_take_the_container_port_and_the_host_the_host_port(lab):
    project = hello(lab)
    project.up()
    published = project.ps().ports.iloc[1]           # web: 127.0.0.1:PORT->8000/tcp
    host_port = int(published.split(":")[1].split("-")[0])
    assert published.startswith("127.0.0.1:")
    project.curl("client", "http://web:8000/").expect_success(contains="Hello Docker!")
    project.curl("client", f"http://web:{host_port}/").expect_failure()
    lesson13.host_curl(project, f"http://127.0.0.1:{host_port}/").expect_success(
        contains="Hello Docker!")


def test_depends_on_starts_too_early_and_a_health_check_waits(lab):
    services = {"db": compose.hello_service(lab, message="db: ready", port=5432,
                                            gate="/tmp/replayed"),
                "app": compose.idle_service(lab, needs="http://db:5432/", depends_on=["db"])}
    ready = compose.Project(lab, "ready", services)
    assert ready.up().ok
    lesson13.started_too_early(ready)
    # The gate holds the server back until the file exists, then it answers.
    assert ready.compose("exec", "db", "touch", "/tmp/replayed").ok
    deadline = time.monotonic() + 30
    while not ready.curl("db", "http://127.0.0.1:5432/").ok and time.monotonic() < deadline:
        time.sleep(0.3)
    ready.curl("db", "http://127.0.0.1:5432/").expect_success(contains="db: ready")
    services["db"] = compose.hello_service(lab, message="db: ready", port=5432, delay=8,
                                           healthcheck=compose.http_healthcheck(5432))
    services["app"]["depends_on"] = {"db": {"condition": "service_healthy"}}
    run = compose.Project(lab, "ready", services).up()
    assert run.ok and "Healthy" in run.output
    lesson13.waited_for_health(ready)


def test_tiers_an_external_network_and_a_shared_namespace(lab, client):
    shop = compose.Project(lab, "shop", {
        "web": compose.hello_service(lab, networks=["front"]),
        "api": compose.hello_service(lab, networks=["front", "back"]),
        "db": compose.hello_service(lab, port=5432, networks=["back"])},
        networks={"front": None, "back": None})
    assert shop.up().ok
    lesson13.segmented(shop.reachability(["web", "api", "db"], ports={"db": 5432}))
    shared = lab.network("shared")
    external = {"shared": {"external": True, "name": shared.name}}
    store = compose.Project(lab, "store", {"api": compose.hello_service(
        lab, message="from store", networks=["shared"])}, networks=external)
    admin = compose.Project(lab, "admin", {"tool": compose.idle_service(
        lab, networks=["shared"])}, networks=external)
    assert store.up().ok and admin.up().ok
    admin.curl("tool", "http://api:8000/").expect_success(contains="from store")
    lesson13.shared_by_both(lab, shared, store, admin)
    assert store.down().ok
    lesson13.external_stays(lab, shared, store)
    sidecar = compose.Project(lab, "sidecar", {
        "web": compose.hello_service(lab),
        "debug": compose.idle_service(lab, network_mode="service:web")})
    assert sidecar.up().ok
    sidecar.curl("debug", "http://localhost:8000/").expect_success(contains="Hello Docker!")
    lesson13.shares_namespace(sidecar)


def test_down_removes_the_project_and_only_it(lab, client):
    first, second = hello(lab), compose.Project(lab, "other", {"x": compose.idle_service(lab)})
    assert first.up().ok and second.up().ok
    assert first.down().ok
    lesson13.all_gone(first)
    assert [c.name for c in second.containers()] == [second.container_name("x")]


def test_a_taken_subnet_is_skipped(lab, client):
    project = hello(lab)
    # Someone else holds the subnet the lab would pick first: the project goes elsewhere.
    first_choice = project._free_subnets([])["default"]
    blocker = lab.network("blocker", subnet=first_choice)
    assert project.up().ok
    got = project.networks_table().subnet.iloc[0]
    assert got != first_choice and blocker.attrs["IPAM"]["Config"][0]["Subnet"] == first_choice


def test_without_compose_nothing_is_created(lab, client, monkeypatch):
    monkeypatch.setenv("DOCKERNET_COMPOSE", "none")
    project = hello(lab)
    assert isinstance(project.up(), compose.NotRun)
    assert isinstance(lesson13.named_as_compose_does(project), compose.NotRun)
    assert not project.containers()


def test_another_learners_project_of_the_same_stack_is_apart(lab, client, other_learner):
    other = dn.Lab(LESSON_ID, learner=other_learner, client=client, quiet=True)
    mine, theirs = hello(lab), compose.Project(other, "hello", {"web": compose.hello_service(other)})
    assert mine.up().ok and theirs.up().ok
    assert mine.name != theirs.name
    mine.curl("client", "http://web:8000/").expect_success()
    lab.cleanup()
    assert [c.name for c in theirs.containers()] == [theirs.container_name("web")]
    other.cleanup()
