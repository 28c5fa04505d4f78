"""Label and naming rules: pure logic, no daemon."""

import pytest
from dockernet import naming
from dockernet.errors import LabError


def test_learner_ids_are_docker_safe_and_keep_users_apart():
    assert naming.sanitize_learner("alice") == "alice"
    bob, bob_lower = naming.sanitize_learner("Bob"), naming.sanitize_learner("bob")
    assert bob != bob_lower
    for raw in ("Bob Smith", "émilie@school", "x" * 60, ""):
        cleaned = naming.sanitize_learner(raw)
        naming.check_short_name(cleaned)  # usable inside Docker names
        assert len(cleaned) <= 27


def test_learner_id_precedence():
    env = {"DOCKERNET_LEARNER": "setting", "JUPYTERHUB_USER": "hub"}
    assert naming.learner_id(env) == "setting"
    assert naming.learner_id({"JUPYTERHUB_USER": "hub"}) == "hub"
    assert naming.learner_id({}) == naming.sanitize_learner(__import__("getpass").getuser())


def test_docker_names_are_namespaced_per_learner_and_lesson():
    assert naming.docker_name("alice", "01-default-bridge", "helloworld") == "dn-alice-01-helloworld"
    assert naming.docker_name("bob", "01-default-bridge", "helloworld") != \
        naming.docker_name("alice", "01-default-bridge", "helloworld")
    assert naming.docker_name("alice", "scratch", "web") == "dn-alice-scratch-web"


@pytest.mark.parametrize("bad", ["Bad Name", "", "-web", "web/1", "x" * 41, None, 3])
def test_unusable_names_are_refused_with_the_rule(bad):
    with pytest.raises(LabError, match="lower-case letters"):
        naming.check_short_name(bad)


def test_labels_carry_the_whole_namespace():
    labels = naming.lab_labels("alice", "02-x", "s1", "web", spec="abc")
    assert labels == {"dockernet.lab": "1", "dockernet.learner": "alice", "dockernet.lesson": "02-x",
                      "dockernet.session": "s1", "dockernet.name": "web", "dockernet.spec": "abc"}
    assert naming.label_filters("alice", "02-x") == [
        "dockernet.lab=1", "dockernet.learner=alice", "dockernet.lesson=02-x"]
    assert naming.label_filters() == ["dockernet.lab=1"]


def test_ownership_needs_the_lab_label_and_the_right_learner():
    mine = naming.lab_labels("alice", "01", "s", "web")
    assert naming.owned_by(mine, learner="alice", lesson="01")
    assert not naming.owned_by(mine, learner="bob")
    assert not naming.owned_by(mine, lesson="02")
    assert not naming.owned_by({"dockernet.learner": "alice"}, learner="alice")
    assert not naming.owned_by(None)


def test_spec_hash_is_stable_and_sensitive():
    assert naming.spec_hash({"a": 1, "b": [2]}) == naming.spec_hash({"b": [2], "a": 1})
    assert naming.spec_hash({"a": 1}) != naming.spec_hash({"a": 2})
