"""A daemon that goes away in the middle of a lesson gives one clear DockerUnavailable.

The test engine (``make engine``) is stopped under a running lab, through the
host's daemon, then started again. It runs in ``make test-engines``, which says
where the host's daemon is (``DOCKERNET_OUTER_DOCKER_HOST``); stopping the
host's own daemon would stop everything else on this machine.
"""

import os
import threading

import docker
import pytest
from dockernet import Lab, testengine
from dockernet.errors import DockerUnavailable

pytestmark = pytest.mark.skipif(
    os.environ.get("DOCKERNET_TEST_ENGINE") != "1",
    reason="stops and restarts the test engine: runs in `make test-engines`")


@pytest.fixture
def outer_client():
    """The daemon the test engine runs on."""
    outer = docker.DockerClient(base_url=os.environ["DOCKERNET_OUTER_DOCKER_HOST"])
    yield outer
    outer.close()


def test_a_daemon_stopped_mid_lesson_says_what_happened_and_how_to_go_on(
        outer_client, client, lab_image, learner):
    engine = testengine.find(outer_client)
    assert engine is not None and engine.status == "running", "make test-engines starts it"
    lab = Lab("02-user-defined-bridge", learner=learner, client=client, quiet=True)
    lab.run("before")
    engine.stop(timeout=10)
    try:
        with pytest.raises(DockerUnavailable) as gone:
            lab.run("after")
    finally:
        engine.start()
        testengine.wait_until_answering(outer_client, testengine.docker_host()).close()
    message = str(gone.value)
    assert "went away during the lesson" in message
    assert "start Docker" in message and "re-run the lesson from the top" in message
    # The lesson's first cell, run again, works on the restarted daemon.
    again = Lab("02-user-defined-bridge", learner=learner, quiet=True)
    again.run("after")
    again.cleanup()


def test_a_lost_daemon_mid_exec_is_reported_the_same_way(outer_client, client, lab_image,
                                                         learner):
    engine = testengine.find(outer_client)
    lab = Lab("02-user-defined-bridge", learner=learner, client=client, quiet=True)
    lab.run("sleeper")
    # The exec is still streaming its output when the daemon stops.
    stopper = threading.Timer(1.0, lambda: engine.stop(timeout=10))
    stopper.start()
    try:
        with pytest.raises(DockerUnavailable, match="went away during the lesson"):
            lab.exec("sleeper", "sleep 20", timeout=30)
    finally:
        stopper.join()
        engine.start()
        testengine.wait_until_answering(outer_client, testengine.docker_host()).close()
