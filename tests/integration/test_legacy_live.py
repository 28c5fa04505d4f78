"""Links, /etc/hosts and --add-host on the real daemon: what lesson 04 claims, and its
self-checks. The engine's version decides only whether link variables exist (before 29)."""

import dockernet as dn
import pytest
from dockernet import legacy
from dockernet.checks import lesson04

LESSON_ID = "94-legacy-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    yield lab
    lab.cleanup()


@pytest.fixture
def linked(lab):
    """helloworld (exposing 8000) and web, linked to it as db."""
    lab.hello_server("helloworld", ports=legacy.expose(8000))
    lab.run("web", links=legacy.links(lab, {"helloworld": "db"}))
    return lab


def test_a_link_writes_one_line_into_the_linking_container_only(linked):
    lab = linked
    table = lesson04.link_line_holds(lab, legacy.hosts(lab, "web"))
    assert (table["written by"] == "Docker: --link helloworld:db").sum() == 1
    assert lab.curl("web", "http://db:8000").expect_success().output == "Hello Docker!"
    theirs = legacy.hosts(lab, "helloworld")
    assert set(theirs["written by"]) == {"Docker: localhost", "Docker: its own name"}
    lesson04.link_is_one_way(lab.reachability(["web", "helloworld"], by="name"))


def test_link_variables_exist_exactly_before_29(linked, client):
    env = lesson04.link_env_holds(linked, legacy.link_env(linked, "web"))
    assert bool(len(env)) == legacy.sets_link_env(client.version()["Version"])


def test_a_stopped_target_blocks_exec_and_a_moved_one_updates_the_hosts_line(linked, client):
    lab = linked
    stopped = legacy.stop(lab, "helloworld").expect_success()
    assert stopped.address and legacy.stop(lab, "helloworld").address == stopped.address
    lesson04.exec_refused(legacy.try_exec(lab, "web", "cat /etc/hosts"))
    moved = legacy.start_elsewhere(lab, "helloworld", stopped.address)
    assert moved.attrs["new"] == lab.ip("helloworld") != stopped.address
    lesson04.hosts_follow_the_target(lab, legacy.hosts(lab, "web"), moved)
    env = lesson04.variables_stay_behind(lab, legacy.link_env(lab, "web"), moved)
    if legacy.sets_link_env(client.version()["Version"]):
        assert env.loc["DB_PORT_8000_TCP_ADDR"].tolist() == [stopped.address, moved.attrs["new"]]
    again = legacy.start_elsewhere(lab, "helloworld", stopped.address)
    assert again.attrs["new"] == moved.attrs["new"], "a re-run moves nothing"


def test_a_replaced_target_breaks_the_link_until_the_linker_is_created_again(linked):
    lab = linked
    lab.get_container("helloworld").remove(force=True)
    lab.hello_server("helloworld", ports=legacy.expose(8000))
    lesson04.exec_refused(legacy.try_exec(lab, "web", ["true"]))
    lesson04.restart_refused(lab, legacy.restart(lab, "web"))
    assert legacy.start(lab, "web").expect_failure(contains=legacy.NOT_RUNNING)
    lab.run("web", links=legacy.links(lab, {"helloworld": "db"}))
    lab.curl("web", "http://db:8000").expect_success(contains="Hello Docker!")


def test_a_hand_edit_is_lost_at_the_next_start_and_add_host_is_kept(linked):
    lab = linked
    address = lab.ip("helloworld")
    lab.run("client", extra_hosts={"api": address})
    lab.exec("client", f'echo "{address} hello.local" >> /etc/hosts').expect_success()
    table = legacy.hosts(lab, "client")
    assert table[table["written by"] == legacy.BY_HAND]["names"].tolist() == [["hello.local"]]
    lab.lookup("client", "hello.local").expect_success()
    legacy.restart(lab, "client").expect_success()
    lesson04.edit_gone(lab, "client")


def test_a_user_network_follows_a_replaced_container_and_refuses_links_from_the_bridge(lab):
    lab.network("my-net")
    lab.hello_server("back", network="my-net", message="Hello from back!")
    lab.run("front", network="my-net")
    lesson04.both_ways(lab.reachability(["front", "back"], by="name"))
    lab.hello_server("back", network="my-net", message="Hello from the new back!")
    lesson04.name_follows(lab, contains="Hello from the new back!")
    lesson04.docker_refuses_link(lab, "stray", target="back")
    assert "stray" not in [lab.short_name(c) for c in lab.containers()]


def test_links_to_a_stopped_or_unknown_container_create_nothing(linked):
    lab = linked
    legacy.stop(lab, "helloworld")
    with pytest.raises(dn.LabError, match="needs a running target"):
        lab.run("late", links=legacy.links(lab, {"helloworld": "db"}))
    with pytest.raises(dn.UnknownObject, match="no container 'nosuch'"):
        legacy.links(lab, {"nosuch": "db"})
    assert sorted(lab.short_name(c) for c in lab.containers()) == ["helloworld", "web"]


def test_self_checks_hint_until_the_answer_holds(linked):
    lab = linked
    assert not lesson04.names_prediction(lab, None)
    lab.run("reader", links=legacy.links(lab, {"helloworld": "api"}))
    assert "dict" in lesson04.names_prediction(lab, None).hint
    right = {"reader": {"api": True, "db": False, "helloworld": True, "web": False},
             "web": {"reader": False}, "helloworld": {"reader": False}}
    wrong = {**right, "web": {"reader": True}}
    assert "1 of 6" in lesson04.names_prediction(lab, wrong).hint
    lesson04.names_prediction(lab, right).require()
    assert not lesson04.link_replaced(lab)
    lab.network("app-net")
    lab.run("web2", network="app-net")
    assert "share no user-defined network" in lesson04.link_replaced(lab).hint
    lab.connect("helloworld", "app-net")
    assert "alias" in lesson04.link_replaced(lab).hint
    lab.connect("helloworld", "app-net", aliases=["db"])
    lesson04.link_replaced(lab).require()
    lab.run("client", extra_hosts={"api": lab.ip("helloworld")})
    assert "/tmp" in lesson04.edit_explained(lab, "c").hint
    assert "which option" in lesson04.edit_explained(lab, "b").hint
    address = lab.ip("helloworld")
    lab.run("client", extra_hosts={"api": address, "hello.local": address})
    lesson04.edit_explained(lab, "B ").require()
