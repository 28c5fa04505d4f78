"""Lesson 02 passes after networks the lab did not create have used up Docker's default pools.

In a classroom, anyone's ``docker network create`` with no options takes a subnet
from Docker's default pools, which hold about 31 networks. Lab networks pass
explicit subnets from the lab's own pool and the exercise's subnet comes from
``lab.free_subnet()``, so the lesson must not care.

The filler networks carry a test-only label, not the lab's: they stand for other
people's networks, and lab cleanup must never see them. Using the pools up breaks
anyone on this daemon who creates a network without a subnet, so the window is one
lesson run long and the fillers go in ``finally``. If a killed run left some behind:
``docker network rm $(docker network ls -q --filter label=dockernet-test.pool-filler)``.
"""

import ipaddress
import re
import uuid

import docker
import pytest
from dockernet import addressing
from dockernet.cleanup import lab_objects
from nbrun import ROOT, execute, failed_checks, outputs_text

LESSON_02 = ROOT / "notebooks" / "02-user-defined-bridge.ipynb"
FILLER_LABEL = "dockernet-test.pool-filler"
#: Docker's default pools hold 31 networks; a daemon that takes more has bigger pools set.
MAX_FILLERS = 64
#: How Docker says its default pools are used up (26 and older; 27 and later).
POOLS_USED_UP = ("could not find an available, non-overlapping ipv4 address pool",
                 "all predefined address pools have been fully subnetted")


def use_up_default_pools(client, run_id: str, made: list) -> bool:
    """Create networks with no options until Docker refuses; True when it did."""
    for index in range(MAX_FILLERS):
        try:
            made.append(client.networks.create(f"dnt-pool-filler-{run_id}-{index}",
                                               labels={FILLER_LABEL: run_id}))
        except docker.errors.APIError as exc:
            if any(text in str(exc).lower() for text in POOLS_USED_UP):
                return True
            raise
    return False


def remove_fillers(client, run_id: str, made: list) -> None:
    # By id, and only networks carrying this run's own label.
    for network in made:
        try:
            client.api.remove_network(network.id)
        except docker.errors.NotFound:
            pass
    left = client.networks.list(filters={"label": f"{FILLER_LABEL}={run_id}"})
    assert not left, f"filler networks left behind: {[n.name for n in left]}"


def test_lesson_02_passes_when_dockers_default_pools_are_used_up(client, lab_image, learner):
    run_id = uuid.uuid4().hex[:8]
    made = []
    try:
        if not use_up_default_pools(client, run_id, made):
            pytest.skip(f"this daemon's default pools took {MAX_FILLERS} networks without "
                        "running out (bigger default-address-pools are set): nothing to test")
        notebook = execute(LESSON_02, env={"DOCKERNET_LEARNER": learner})
    finally:
        remove_fillers(client, run_id, made)
    text = outputs_text(notebook)
    assert not failed_checks(notebook), f"self-checks failed: {failed_checks(notebook)}"
    chosen = re.search(r"exercise-net \(([\d./]+)\)", text)  # the self-check's praise
    assert chosen, "the exercise's solution did not say which subnet it used"
    assert ipaddress.ip_network(chosen.group(1)).subnet_of(
        ipaddress.ip_network(addressing.CHOICE_RANGE)), "the subnet came from lab.free_subnet()"
    assert not any(lab_objects(client, learner=learner).values()), "the cleanup cell left objects"
