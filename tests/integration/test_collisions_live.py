"""dockernet.collisions on the real daemon: the VPN route, a clashing network, the repair.

The route lives in the daemon's host network namespace (on the test engine, the engine
container's), in a range of RFC 2544's benchmarking space no network or route uses, on the
test's own outside link; every request is sent only after the host's route was read.
"""

import ipaddress

import dockernet as dn
import pytest
from dockernet import collisions, hostview

LESSON_ID = "97-collisions-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def _routed(lab, vpn_range):
    return [r for r in hostview.host_routes(lab) if r.get("dst") == vpn_range]


def test_a_clashing_network_steals_the_vpn_route_until_it_is_removed(lab):
    vpn = collisions.vpn(lab)
    assert ipaddress.ip_network(vpn.range).subnet_of(ipaddress.ip_network(collisions.VPN_SPACE))
    assert [r["dev"] for r in _routed(lab, vpn.range)] == [vpn.link]
    before = collisions.host_reach(lab, vpn)
    assert before["reached"].iloc[0] and before["route dev"].iloc[0] == vpn.link, before

    clash, refusal = collisions.clashing_network(lab, vpn)
    assert refusal is None, f"engine {lab.client.version()['Version']} refused: {refusal}"
    bridge = hostview.bridge_interface(clash.attrs)
    after = collisions.host_reach(lab, vpn)
    assert after["route dev"].iloc[0] == bridge and not after["reached"].iloc[0], after

    clash.remove()
    again = collisions.host_reach(lab, vpn)
    assert again["reached"].iloc[0], again
    assert collisions.vpn(lab).range == vpn.range          # re-run: the same route, reused
    lab.cleanup()
    assert not _routed(lab, vpn.range), "the route must go with the office's link"


def test_two_learners_get_ranges_of_their_own(lab, client, other_learner):
    other = dn.Lab(LESSON_ID, learner=other_learner, client=client, quiet=True)
    mine, theirs = collisions.vpn(lab), collisions.vpn(other)
    assert not ipaddress.ip_network(mine.range).overlaps(ipaddress.ip_network(theirs.range))
    assert collisions.host_reach(other, theirs)["reached"].iloc[0]
