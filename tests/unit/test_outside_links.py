"""Choosing the outside world's /30 when many learners lay their links at once (pure)."""

from dockernet import outside


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
