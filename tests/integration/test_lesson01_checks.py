"""Lesson 01's exercise self-checks on the real daemon: the right answer passes, and each
typical wrong answer gets the hint meant for it, which never contains the answer."""

import dockernet as dn
import pytest
from dockernet import hostview, outside
from dockernet.checks import lesson01


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab("91-lesson01-checks", learner=learner, client=client, quiet=True)


def test_which_veth_passes_the_peer_and_explains_the_usual_mistakes(lab):
    for name in ("helloworld", "helloworld2"):
        lab.run(name)
    pairs = hostview.veth_pairs(lab).set_index("container")
    right, neighbours = pairs.loc["helloworld2", "host_if"], pairs.loc["helloworld", "host_if"]
    assert lesson01.helloworld2_veth(lab, f"{right}@if7")   # as `ip link` prints it
    assert "own end" in lesson01.helloworld2_veth(lab, "eth0").hint
    assert "bridge itself" in lesson01.helloworld2_veth(lab, "docker0").hint
    hint = lesson01.helloworld2_veth(lab, neighbours).hint
    assert "helloworld's eth0" in hint and right not in hint


def test_own_names_compares_each_guess_with_the_daemon_without_telling_which(lab):
    lab.run("web", hostname="box7")
    right = {"web": False, "box7": True, "localhost": True, "helloworld": False}
    assert lesson01.own_names(lab, right)
    hint = lesson01.own_names(lab, {**right, "web": True, "helloworld": True}).hint
    assert hint.startswith("2 of your 4 guesses do not hold") and "True" not in hint
    assert "dict with the keys" in lesson01.own_names(lab, {"web": False}).hint
    lab.run("web")   # the spec changed: the lab replaces it, with hostname "web" this time
    assert "hostname='box7'" in lesson01.own_names(lab, right).hint


def test_nat_prediction_measures_live_and_answers_each_wrong_address(lab):
    world = outside.outside_world(lab)
    assert "no container called helloworld3" in lesson01.nat_prediction(lab, world, "x", "c").hint
    lab.run("helloworld3")
    own = lab.ip("helloworld3")
    gateway = lab.get_container("helloworld3").attrs["NetworkSettings"]["Networks"]["bridge"][
        "Gateway"]
    hints = {guess: lesson01.nat_prediction(lab, world, guess, "c").hint
             for guess in (own, gateway, world.address, "192.0.2.7", "not an address")}
    assert "own address on docker0" in hints[own]
    assert "docker0's address" in hints[gateway]
    assert "server's own address" in hints[world.address]
    assert "does not see 192.0.2.7" in hints["192.0.2.7"]
    assert "IPv4 address as a string" in hints["not an address"]
    assert all(world.host_address not in hint for hint in hints.values())
    assert "own veth" in lesson01.nat_prediction(lab, world, world.host_address, "d").hint
    assert "letter" in lesson01.nat_prediction(lab, world, world.host_address, "e").hint
    assert lesson01.nat_prediction(lab, world, world.host_address, "C")
