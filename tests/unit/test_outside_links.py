"""Choosing the outside world's /30 when many learners lay their links at once (pure)."""

import types

import pytest
from dockernet import outside
from dockernet.errors import LabError


def test_two_learners_who_clashed_do_not_clash_again_in_step():
    # Both start next to each other; the first /30 is taken, so both pick the second, lay
    # their links at the same moment, see each other's route, and both back off from it.
    alice, bob = "00", "01"
    subnets = list(outside.link_subnets(alice))
    taken = [subnets[0]]
    first = outside.free_subnet(outside.retry_key(alice, 0), taken)
    assert first == outside.free_subnet(outside.retry_key(bob, 0), taken) == subnets[1]
    # Walking on from the same place would clash again ("the next free /30" is the same
    # for both), attempt after attempt; each starts somewhere of its own instead.
    picks = [(outside.free_subnet(outside.retry_key(alice, attempt), taken, skip=[first]),
              outside.free_subnet(outside.retry_key(bob, attempt), taken, skip=[first]))
             for attempt in range(1, 8)]
    assert all(mine != theirs for mine, theirs in picks)


class _RootlessClient:
    """Answers ``info()`` as a rootless daemon does; any other call would fail the test."""

    def info(self):
        return {"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]}


def test_rootless_docker_gets_the_reason_before_anything_is_started():
    lab = types.SimpleNamespace(client=_RootlessClient(), learner="ada", lesson="15")
    with pytest.raises(LabError, match="rootless Docker"):
        outside.outside_world(lab)
