"""Pure parts of dockernet.collisions: ranges, the clash subnet, pools that avoid a VPN."""

import ipaddress

import pytest
from dockernet import collisions
from dockernet.errors import LabError


def test_ranges_start_per_learner_and_skip_what_is_taken():
    first = collisions.free_range([], "r12a")
    assert first.subnet_of(ipaddress.ip_network(collisions.VPN_SPACE))
    assert first.prefixlen == collisions.VPN_PREFIX
    assert collisions.free_range([first], "r12a") != first
    others = {collisions.free_range([], f"learner{n}") for n in range(30)}
    assert len(others) > 20, "30 learners should mostly start on ranges of their own"


def test_the_clash_subnet_holds_the_office_server():
    vpn_range = "198.18.12.0/22"
    server = ipaddress.ip_address(collisions.server_address(vpn_range))
    clash = ipaddress.ip_network(collisions.clash_subnet(vpn_range))
    assert server in clash and clash.subnet_of(ipaddress.ip_network(vpn_range))
    assert clash.prefixlen > collisions.VPN_PREFIX  # more specific: it wins the route


def test_route_prefixes_drop_default_and_ipv6():
    routes = [{"dst": "default"}, {"dst": "fd00::/64"}, {"dst": "198.18.4.0/22", "dev": "dnx-1"}]
    assert collisions.route_prefixes(routes) == [ipaddress.ip_network("198.18.4.0/22")]


def test_pools_avoiding_cut_around_the_story_range_and_keep_the_rest():
    pools = collisions.pools_avoiding([collisions.STORY_RANGE])
    bases = [ipaddress.ip_network(p["base"]) for p in pools]
    story = ipaddress.ip_network(collisions.STORY_RANGE)
    assert not any(b.overlaps(story) for b in bases)
    covered = sum(b.num_addresses for b in bases)
    defaults = sum(ipaddress.ip_network(p["base"]).num_addresses for p in collisions.DEFAULT_POOLS)
    assert covered == defaults - story.num_addresses
    assert {"base": "192.168.0.0/16", "size": 20} in pools


def test_pools_avoiding_a_whole_pool_drops_it_and_a_bad_cidr_is_refused():
    pools = collisions.pools_avoiding(["192.168.0.0/16"])
    assert all(not p["base"].startswith("192.168.") for p in pools)
    with pytest.raises(LabError):
        collisions.pools_avoiding(["172.20.0.1/16"])


def test_daemon_json_is_json():
    import json

    text = collisions.daemon_json(collisions.pools_avoiding(["172.20.0.0/16"]), bip="10.10.0.1/24")
    parsed = json.loads(text)
    assert parsed["bip"] == "10.10.0.1/24" and parsed["default-address-pools"][0]["size"] == 16


def test_overlaps_frame_lists_only_overlapping_networks():
    networks = [{"Name": "vpnish", "IPAM": {"Config": [{"Subnet": "172.20.5.0/24"}]}},
                {"Name": "ok", "IPAM": {"Config": [{"Subnet": "172.21.0.0/16"}]}},
                {"Name": "host", "IPAM": {"Config": []}}]
    assert collisions.overlaps_frame(networks, "172.20.0.0/16")["network"].tolist() == ["vpnish"]
