"""Lesson 03's exercise self-checks on the real daemon: the right answer passes, and each
typical wrong answer gets the hint meant for it, which never contains the answer."""

import dockernet as dn
import pytest
from dockernet import outside, ports
from dockernet.checks import lesson03


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab("92-lesson03-checks", learner=learner, client=client, quiet=True)


def test_client_prediction_measures_live_and_answers_each_wrong_address(lab):
    world = outside.outside_world(lab)
    assert "lan-server is gone" in lesson03.client_prediction(lab, world, "192.0.2.7").hint
    lab.hello_server("lan-server", ports={"8000/tcp": (world.host_address, ports.host_port(lab))})
    gateway = lab.get_container("lan-server").attrs["NetworkSettings"]["Networks"]["bridge"]["Gateway"]
    wrong = {gateway: "docker-proxy", "127.0.0.1": "not to 127.0.0.1",
             world.address: "sent nothing this time", lab.ip("lan-server"): "destination after DNAT",
             "192.0.2.7": "does not log 192.0.2.7"}
    for guess, meant in wrong.items():
        hint = lesson03.client_prediction(lab, world, guess).hint
        assert meant in hint and world.host_address not in hint, (guess, hint)
    assert "IPv4 address as a string" in lesson03.client_prediction(lab, world, 7).hint
    assert lesson03.client_prediction(lab, world, world.host_address)


def test_api_published_names_the_first_thing_still_wrong(lab):
    assert "no container called api" in lesson03.api_published(lab).hint
    port = ports.host_port(lab)
    lab.hello_server("api", port=9000, message="Hello from api!", ports={"8000/tcp": port})
    assert "which side of the mapping" in lesson03.api_published(lab).hint
    lab.hello_server("api", port=9000, message="Hello from api!",
                     ports={"9000/tcp": ("0.0.0.0", port)})
    assert "every machine" in lesson03.api_published(lab).hint
    lab.hello_server("api", port=9000, message="Hello from api!", bind="127.0.0.1",
                     ports={"9000/tcp": port})
    assert "section 9" in lesson03.api_published(lab).hint
    lab.hello_server("api", port=9000, ports={"9000/tcp": port})
    assert "message=" in lesson03.api_published(lab).hint
    lab.hello_server("api", port=9000, message="Hello from api!", ports={"9000/tcp": port})
    assert lesson03.api_published(lab), lesson03.api_published(lab).hint


def test_why_docker_user_hints_for_each_wrong_letter_without_giving_the_right_one(lab):
    assert lesson03.why_docker_user(lab, " B ")
    for letter in "acd":
        hint = lesson03.why_docker_user(lab, letter).hint
        assert hint and "DNAT in PREROUTING readdresses" not in hint
    assert "letter" in lesson03.why_docker_user(lab, None).hint
