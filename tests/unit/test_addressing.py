"""Subnet allocation and CIDR validation: pure logic, no daemon."""

import ipaddress

import pytest
from dockernet import addressing
from dockernet.errors import LabError

net = ipaddress.ip_network


@pytest.mark.parametrize("text, fix", [
    ("banana", "ADDRESS/PREFIX"),
    ("10.0.0.0", "ADDRESS/PREFIX"),
    ("10.0.0.300/24", "four numbers"),
    ("10.0.0.0/33", "prefix 0-32"),
    ("10.0.0.1/24", "did you mean '10.0.0.0/24'"),
    ("fd00::/64", "IPv4"),
])
def test_bad_cidrs_get_one_clear_error_with_the_fix(text, fix):
    with pytest.raises(LabError, match=fix.replace("(", r"\(")):
        addressing.parse_subnet(text)


def test_pool_must_be_private(monkeypatch):
    monkeypatch.setenv("DOCKERNET_POOL", "8.8.0.0/16")
    with pytest.raises(LabError, match="private"):
        addressing.parse_pool()
    monkeypatch.setenv("DOCKERNET_POOL", "10.50.0.0/16")
    assert addressing.parse_pool() == net("10.50.0.0/16")


def test_capacity():
    assert addressing.usable_hosts(net("10.0.0.0/24")) == 253
    assert addressing.prefix_for_hosts(1) == 30
    assert addressing.prefix_for_hosts(253) == 24
    assert addressing.prefix_for_hosts(254) == 23
    with pytest.raises(LabError, match="holds 1 container addresses, but 5 are needed"):
        addressing.check_capacity(net("10.0.0.0/30"), 5)
    with pytest.raises(LabError):
        addressing.check_capacity(net("10.0.0.0/31"), None)


def test_first_free_skips_everything_taken():
    pool = net("10.200.0.0/22")
    taken = [net("10.200.0.0/24"), net("10.200.1.128/25")]
    assert addressing.first_free(pool, 24, taken) == net("10.200.2.0/24")
    # a host route covering the rest of the pool leaves nothing free
    with pytest.raises(LabError, match="no free /24"):
        addressing.first_free(pool, 24, taken + [net("10.200.2.0/23")])


def test_learners_start_at_different_places_but_cover_the_whole_pool():
    pool = net("10.200.0.0/20")
    alice = list(addressing.candidates(pool, 24, "alice"))
    bob = list(addressing.candidates(pool, 24, "bob"))
    assert sorted(alice) == sorted(bob) == list(pool.subnets(new_prefix=24))
    assert alice[0] != bob[0]


def test_pool_holds_hundreds_of_networks_without_overlap():
    pool = addressing.parse_pool(addressing.DEFAULT_POOL)
    taken = [net("172.17.0.0/16"), net("10.201.0.0/16")]  # e.g. docker0 and a host route
    chosen = []
    for index in range(300):
        subnet = addressing.first_free(pool, 24, taken + chosen, start_key=f"learner{index % 7}")
        assert not addressing.overlapping(subnet, taken + chosen)
        chosen.append(subnet)
    assert len(set(chosen)) == 300


def test_prefix_bigger_than_pool_is_refused():
    with pytest.raises(LabError, match="does not fit"):
        list(addressing.candidates(net("10.0.0.0/24"), 16))


def test_host_routes_parse_proc_net_route(tmp_path):
    route = tmp_path / "route"
    route.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
    assert addressing.host_routes(str(route)) == [net("192.168.0.0/24"), net("172.17.0.0/16")]
    assert addressing.host_routes(str(tmp_path / "missing")) == []


def test_the_choice_range_stays_clear_of_dockers_pools_and_the_lab_pool():
    choice = net(addressing.CHOICE_RANGE)
    assert choice.is_private
    assert not choice.overlaps(net(addressing.DEFAULT_POOL))
    assert not any(choice.overlaps(net(pool)) for pool in addressing.DOCKER_DEFAULT_POOLS)


def test_a_proposed_subnet_overlaps_nothing_taken_nor_the_lab_pool():
    taken = [net("10.208.0.0/24"), net("10.208.1.0/25")]
    lab_pool = net("10.208.2.0/23")  # a pool set inside the range is skipped too
    proposed = addressing.propose_subnet(taken, 24, lab_pool=lab_pool, within="10.208.0.0/21")
    assert proposed == net("10.208.4.0/24")
    assert addressing.propose_subnet([], 28, within="10.208.0.0/21").prefixlen == 28


def test_proposals_never_fall_in_dockers_default_pools():
    # A range that is all Docker default pool (192.168.0.0/16) has nothing to propose.
    with pytest.raises(LabError, match="no free /24 is left in 192.168.4.0/22"):
        addressing.propose_subnet([], 24, within="192.168.4.0/22")


def test_a_full_range_and_a_bad_prefix_give_one_clear_error():
    with pytest.raises(LabError, match="no free /24 is left"):
        addressing.propose_subnet([net("10.208.0.0/22")], 24, within="10.208.0.0/22")
    for prefix in (8, 31, "24"):
        with pytest.raises(LabError, match="between /12 and /30"):
            addressing.propose_subnet([], prefix)


def test_a_classroom_asking_at_once_gets_thirty_different_subnets():
    # Nobody has created anything yet, so only the per-learner starting place keeps them apart.
    proposals = {addressing.propose_subnet([], 24, start_key=f"learner{i}") for i in range(1, 31)}
    assert len(proposals) == 30
    assert all(p.subnet_of(net(addressing.CHOICE_RANGE)) for p in proposals)


def test_candidates_walk_the_pool_lazily_from_the_learners_place():
    pool = net("10.0.0.0/8")
    first = next(addressing.candidates(pool, 30, "alice"))  # 4 million /30s: none listed
    assert first.prefixlen == 30 and first.subnet_of(pool)
    small = list(addressing.candidates(net("10.200.0.0/22"), 24, "alice"))
    assert sorted(small) == list(net("10.200.0.0/22").subnets(new_prefix=24))
