"""Shared fixtures: the real daemon, the lab image, throwaway learner ids.

Integration and notebook tests need a Docker daemon. Without one they FAIL with
the diagnosis (CI must provide a daemon); set DOCKERNET_SKIP_DAEMON_TESTS=1 to
opt out explicitly, e.g. on a laptop with no Docker, and run the unit tests only.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/nbrun.py, shared by authors and tests

from dockernet import image  # noqa: E402
from dockernet.cleanup import lab_objects, remove_lab_objects  # noqa: E402
from dockernet.connect import get_client  # noqa: E402
from dockernet.errors import DockerUnavailable  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


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
