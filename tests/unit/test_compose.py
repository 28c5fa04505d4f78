"""Compose projects without a daemon: the files the lab writes, names, and the missing path.

The ``lab`` here is a plain record of the fields a project reads (learner, lesson, session,
image, pool); nothing talks to Docker.
"""

from types import SimpleNamespace

import pytest
import yaml
from dockernet import addressing, compose
from dockernet.checks import lesson13
from dockernet.errors import LabError


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setattr(compose.tempfile, "gettempdir", lambda: str(tmp_path))
    return SimpleNamespace(learner="alice", lesson="13-compose-networking", session="s1",
                           image="dockernet-lab:test", pool=addressing.parse_pool("10.200.0.0/14"))


def shop(lab):
    return compose.Project(lab, "shop", {
        "web": compose.hello_service(lab, networks=["frontend"]),
        "db": compose.hello_service(lab, port=5432, networks=["backend"]),
        "debug": compose.idle_service(lab, network_mode="service:web")},
        networks={"frontend": None, "backend": None, "shared": {"external": True, "name": "x"}})


def test_names_follow_compose_v2_per_learner(lab):
    project = shop(lab)
    assert project.name == "dn-alice-13-shop"
    assert project.container_name("web") == "dn-alice-13-shop-web-1"      # hyphens
    assert project.network_name("backend") == "dn-alice-13-shop_backend"  # an underscore
    assert project.network_name("shared") == "x"                          # external: its own name


def test_the_learners_file_is_what_was_given_and_dollars_are_doubled(lab):
    project = shop(lab)
    written = yaml.safe_load((project.directory / compose.FILE).read_text())
    assert written["services"]["web"]["image"] == "dockernet-lab:test"
    assert "$$MESSAGE" in written["services"]["web"]["command"][2]
    assert "dockernet.lab" not in (project.directory / compose.FILE).read_text()
    assert project.directory.parts[-3:] == ("alice", "13-compose-networking", "shop")


def test_the_override_labels_every_object_and_skips_what_compose_does_not_create(lab):
    project = shop(lab)
    override = project.override({"frontend": "10.200.1.0/24", "backend": "10.200.2.0/24"})
    for service, spec in override["services"].items():
        assert spec["labels"]["dockernet.learner"] == "alice"
        assert spec["labels"]["dockernet.name"] == f"shop-{service}-1"
        assert spec["pull_policy"] == "never" and spec["init"] is True
    assert "dns" in override["services"]["web"]
    assert "dns" not in override["services"]["debug"]   # a shared namespace: Docker refuses dns
    assert set(override["networks"]) == {"frontend", "backend"}   # not the external one
    assert override["networks"]["backend"]["ipam"]["config"] == [{"subnet": "10.200.2.0/24"}]
    assert override["networks"]["frontend"]["labels"]["dockernet.name"] == "shop_frontend"


def test_default_network_only_when_a_service_uses_it(lab):
    assert shop(lab).own_networks() == ["frontend", "backend"]
    plain = compose.Project(lab, "hello", {"web": compose.hello_service(lab)})
    assert plain.own_networks() == ["default"]


def test_the_command_line_is_the_real_one(lab, monkeypatch):
    monkeypatch.delenv("DOCKERNET_COMPOSE", raising=False)
    assert compose.Project(lab, "hello", {"web": {}}).cli("up", "-d") == [
        "docker", "compose", "--ansi", "never", "-p", "dn-alice-13-hello",
        "-f", "compose.yaml", "-f", "compose.lab.yaml", "up", "-d"]


@pytest.mark.parametrize("stack", ["Shop", "my_shop", "-x", "", "a" * 21, "a.b"])
def test_bad_stack_names_are_refused_before_anything_is_written(lab, stack):
    with pytest.raises(LabError, match="stack name"):
        compose.Project(lab, stack, {"web": {}})
    assert not (compose.Path(compose.tempfile.gettempdir()) / "dockernet-compose").exists()


def test_a_project_without_services_is_refused(lab):
    with pytest.raises(LabError, match="no services"):
        compose.Project(lab, "empty", {})


def test_without_compose_every_call_explains_and_passes(lab, monkeypatch):
    monkeypatch.setenv("DOCKERNET_COMPOSE", "none")
    project = shop(lab)
    assert compose.version() == "" and not project.available
    for result in (project.up(), project.down(), project.curl("web", "http://db:5432/"),
                   project.reachability(["web", "db"])):
        assert isinstance(result, compose.NotRun)
        assert result.expect_success() is result and result.expect_failure() is result
        assert "Compose v2 is missing" in str(result) and "install-compose" in str(result)
    assert lesson13.segmented(project.reachability(["web"])).what.startswith("curl")
    assert lesson13.worker_placed(lab).passed    # nothing to check, and it says so


def test_a_compose_that_is_not_v2_counts_as_missing(monkeypatch):
    monkeypatch.setenv("DOCKERNET_COMPOSE", "false")   # exits 1, prints nothing
    assert compose.version() == ""


def test_services_of_the_lesson():
    lab = SimpleNamespace(image="img")
    slow = compose.hello_service(lab, message="db: ready", port=5432, delay=5)
    assert slow["command"][2].startswith("sleep 5 && ")
    assert slow["environment"] == {"MESSAGE": "db: ready", "PORT": "5432"}
    gated = compose.hello_service(lab, port=5432, gate="/tmp/replayed")
    assert gated["command"][2].startswith("until [ -e /tmp/replayed ]; do sleep 0.2; done && ")
    with pytest.raises(LabError, match="absolute path"):
        compose.hello_service(lab, gate="/tmp/x; rm -rf /")
    app = compose.idle_service(lab, needs="http://db:5432/", depends_on=["db"])
    assert "curl" in app["command"][2] and app["depends_on"] == ["db"]
    check = compose.http_healthcheck(5432)
    assert check["test"][-1] == "http://127.0.0.1:5432/" and check["retries"] == 30


def test_yaml_reads_like_a_compose_file():
    text = compose.to_yaml({"services": {"a": {"dns": ["127.0.0.1"]}, "b": {"dns": ["127.0.0.1"]}}})
    assert "&id" not in text and "dns: [127.0.0.1]" in text


def test_names_prediction_hints_without_giving_the_answer():
    lab = SimpleNamespace(learner="alice", lesson="13-compose-networking")
    project = "dn-alice-13-notes"
    assert lesson13.names_prediction(lab, f"{project}_default", f"{project}-api-1").passed
    hint = lesson13.names_prediction(lab, f"{project}-default", f"{project}-api-1").hint
    assert "one character" in hint and "_default" not in hint
    assert "numbers" in lesson13.names_prediction(lab, f"{project}_default", f"{project}-api").hint
    assert "string" in lesson13.names_prediction(lab, 3, None).hint


def test_remove_files_takes_only_that_learners_lesson(tmp_path, monkeypatch):
    monkeypatch.setattr(compose.tempfile, "gettempdir", lambda: str(tmp_path))
    mine = tmp_path / "dockernet-compose" / "alice" / "13-compose-networking" / "shop"
    other = tmp_path / "dockernet-compose" / "bob" / "13-compose-networking" / "shop"
    for folder in (mine, other):
        folder.mkdir(parents=True)
    compose.remove_files("alice", "13-compose-networking")
    assert not mine.exists() and other.exists()
    compose.remove_files(None, None)     # every learner's cleanup leaves the folders alone
    assert other.exists()


def test_lesson_00_and_doctor_say_how_to_get_compose_where_it_is_missing():
    from dockernet.capabilities import HostReport
    from dockernet.syllabus import lessons_frame

    missing = HostReport(lab_image_present=True, compose="")
    row = lessons_frame(missing).loc["13"]
    assert row.status == "degrades" and "install-compose" in row.note
    assert "install-compose" in dict(missing.rows())["Compose v2"]
    present = HostReport(lab_image_present=True, compose="2.40.3-3")
    assert lessons_frame(present).loc["13"].status == "runs fully"
    assert dict(present.rows())["Compose v2"] == "2.40.3-3"
