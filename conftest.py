"""Fixtures shared by the tests and the library's docstring examples: the real daemon,
the lab image, throwaway learner ids.

Integration, notebook and live docstring tests need a Docker daemon. Without one they
FAIL with the diagnosis (CI must provide a daemon); set DOCKERNET_SKIP_DAEMON_TESTS=1 to
opt out explicitly, e.g. on a laptop with no Docker, and run the unit tests only.

Docstring examples that use ``lab`` or ``client`` run against the real daemon: they get a
client, the lab image, a fresh learner id (``DOCKERNET_LEARNER`` is set to it, so a
``Lab(...)`` the example makes is that learner's) and, unless the example makes its own,
a ``lab`` of the lesson id ``doctest``. Whatever they create is removed afterwards.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from _pytest.doctest import DoctestItem
from dockernet import image
from dockernet.cleanup import lab_objects, remove_lab_objects
from dockernet.connect import get_client
from dockernet.errors import DockerUnavailable

#: A docstring example that names one of these needs the live daemon.
LIVE_NAMES = re.compile(r"\b(lab|client)\b")
MAKES_ITS_OWN_LAB = re.compile(r"^lab\s*=", re.M)


@pytest.fixture(scope="session")
def client():
    """A docker SDK client for the real daemon; a missing daemon fails the test."""
    try:
        docker_client = get_client()
    except DockerUnavailable as exc:
        if os.environ.get("DOCKERNET_SKIP_DAEMON_TESTS") == "1":
            pytest.skip(f"DOCKERNET_SKIP_DAEMON_TESTS=1 and no daemon: {exc}")
        pytest.fail(f"These tests need a Docker daemon. {exc}", pytrace=False)
    yield docker_client
    docker_client.close()


@pytest.fixture(scope="session")
def lab_image(client):
    """The lab image's tag, built or reused once per session."""
    image.ensure(client)
    return image.image_tag()


@pytest.fixture
def learner(client):
    """A fresh learner id; whatever the test left under it is removed afterwards."""
    learner_id = f"t{uuid.uuid4().hex[:8]}"
    yield learner_id
    remove_lab_objects(client, learner=learner_id)
    assert not any(lab_objects(client, learner=learner_id).values())


@pytest.fixture
def other_learner(client):
    """A second fresh learner id, for isolation tests."""
    learner_id = f"u{uuid.uuid4().hex[:8]}"
    yield learner_id
    remove_lab_objects(client, learner=learner_id)


@pytest.fixture(autouse=True)
def _live_doctest(request, doctest_namespace, monkeypatch):
    """Give a docstring example that uses ``lab``/``client`` the real daemon (see above)."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    source = "".join(example.source for example in request.node.dtest.examples)
    if not LIVE_NAMES.search(source):
        yield
        return
    from dockernet import Lab

    docker_client = request.getfixturevalue("client")
    request.getfixturevalue("lab_image")
    learner_id = request.getfixturevalue("learner")
    monkeypatch.setenv("DOCKERNET_LEARNER", learner_id)
    added = {"client": docker_client}
    if not MAKES_ITS_OWN_LAB.search(source):
        added["lab"] = Lab("doctest", learner=learner_id, client=docker_client, quiet=True)
    doctest_namespace.update(added)
    yield
    for name in added:
        doctest_namespace.pop(name, None)
