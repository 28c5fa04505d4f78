"""Per-learner host ports on the real daemon: claims are atomic, freed by cleanup, and skip
ports taken outside the lab."""

import itertools
from concurrent.futures import ThreadPoolExecutor

import dockernet as dn
from dockernet import ports

LESSON_ID = "93-port-tests"


def learners_sharing_a_block(prefix: str) -> tuple[str, str]:
    """Two learner ids whose hashed blocks are the same (the case a claim must settle)."""
    span, seen = ports.parse_range(), {}
    for n in itertools.count():
        learner = f"{prefix}{n}"
        start = ports.block_start(learner, LESSON_ID, span)
        if start in seen:
            return seen[start], learner
        seen[start] = learner


def test_two_learners_with_the_same_block_asking_at_once_get_different_ports(client, lab_image,
                                                                              learner):
    first, second = learners_sharing_a_block(learner)
    labs = [dn.Lab(LESSON_ID, learner=who, client=client, quiet=True) for who in (first, second)]
    try:
        with ThreadPoolExecutor(2) as pool:
            got = list(pool.map(ports.host_port, labs))
        assert got[0] != got[1], f"both learners got port {got[0]}"
        assert abs(got[0] - got[1]) >= ports.BLOCK, "each learner has a block of its own"
    finally:
        for lab in labs:
            lab.cleanup()
    left = client.volumes.list(filters={"label": f"dockernet.learner={first}"})
    assert not left, left


def test_a_published_port_is_skipped_and_cleanup_frees_the_claim(client, lab_image, learner):
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    port = ports.host_port(lab)
    lab.hello_server("web", ports={"8000/tcp": port})
    assert ports.host_port(lab) == port + 1, "the published port is taken now"
    removed = lab.cleanup()
    assert ports.CLAIM_ROLE in removed.volumes, removed
    assert ports.host_port(dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)) == port
