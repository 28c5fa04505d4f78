"""Lesson 12's pure claims and Exercise 1's self-check, on made-up inputs."""

import pandas as pd
import pytest
from dockernet import ExpectationFailed, collisions, probe
from dockernet.checks import lesson12


def test_exercise_1_passes_the_cut_pools_and_hints_otherwise():
    cut = collisions.pools_avoiding(lesson12.EXERCISE_ROUTES)
    assert "keep at least" in lesson12.pools_avoid_vpn(None, cut).hint  # 29: two cut out
    assert lesson12.pools_avoid_vpn(None, [*cut, {"base": "10.210.0.0/16", "size": 24}])
    assert "overlap" in lesson12.pools_avoid_vpn(None, list(collisions.DEFAULT_POOLS)).hint
    assert "list of dicts" in lesson12.pools_avoid_vpn(None, "172.21.0.0/16").hint
    few = [{"base": "10.99.0.0/24", "size": 24}]
    assert "keep at least" in lesson12.pools_avoid_vpn(None, few).hint
    public = [{"base": "8.8.0.0/16", "size": 24}]
    assert "private" in lesson12.pools_avoid_vpn(None, public).hint


def test_mtu_claims_hold_only_for_the_right_outcomes():
    ok = probe.ProbeResult("client", stdout="200 bytes")
    hung = probe.ProbeResult("client", exit_code=28, stdout="0 bytes")
    refused = probe.ProbeResult("client", exit_code=7)
    assert list(lesson12.mtu_mismatch(ok, hung)["curl exit"]) == [0, 28]
    for small, large in ((ok, ok), (ok, refused), (hung, hung)):
        with pytest.raises(ExpectationFailed):
            lesson12.mtu_mismatch(small, large)
    with pytest.raises(ExpectationFailed):
        lesson12.mtu_fixed(ok, hung)


def test_clash_claim_needs_the_bridge_route_and_no_answer():
    answer = pd.DataFrame([{"bridge": "br-123", "answer": "accepted", "reason": ""}])
    broken = pd.DataFrame([{"route dev": "br-123", "reached": False}])
    lesson12.clash_breaks_vpn(broken, answer)
    with pytest.raises(ExpectationFailed):
        lesson12.clash_breaks_vpn(pd.DataFrame([{"route dev": "dnx-1", "reached": True}]), answer)
    with pytest.raises(ExpectationFailed):
        lesson12.engine_accepts(pd.DataFrame([{"answer": "refused", "reason": "overlaps"}]))
