"""Pure parts of dockernet.dualstack: ULA choice, IPv6 subnets, address rows."""

import ipaddress

from dockernet import dualstack


def test_ula_candidates_are_private_per_learner_and_avoid_fd00_16():
    firsts = {next(dualstack.ula_candidates(f"learner{n}")) for n in range(30)}
    assert len(firsts) == 30
    assert all(s.subnet_of(dualstack.ULA_SPACE) and not s.subnet_of(dualstack.AVOID)
               and s.prefixlen == 64 for s in firsts)


def test_free_ula_skips_taken_and_ignores_ipv4():
    first = next(dualstack.ula_candidates("r12"))
    taken = [first, ipaddress.ip_network("10.0.0.0/8")]
    chosen = dualstack.free_ula(taken, "r12")
    assert chosen is not None and chosen != first


def test_ipv6_subnets_and_address_rows():
    nets = [{"IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}, {"Subnet": "fd12:3456:789a::/64"}]}},
            {"IPAM": None}]
    assert dualstack.ipv6_subnets(nets) == [ipaddress.ip_network("fd12:3456:789a::/64")]
    rows = dualstack.address_rows({"b": {"NetworkSettings": {"Networks": {"n": {
        "IPAddress": "10.1.0.3", "GlobalIPv6Address": ""}}}}}, "n")
    assert rows == [{"container": "b", "IPv4": "10.1.0.3", "IPv6": ""}]
