"""dockernet.dualstack on the real daemon: a ULA subnet per learner, IPv6 addresses, AAAA
and curl over IPv6 (both test engines have IPv6; elsewhere the reason must be given)."""

import ipaddress

import dockernet as dn
import pytest
from dockernet import dualstack

LESSON_ID = "97-dualstack-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def test_a_dual_stack_network_carries_curl_over_ipv6(lab):
    net, why = dualstack.network(lab, "v6-net")
    if net is None:
        assert why, "a refused network must say why"
        pytest.skip(f"no IPv6 here: {why}")
    ula = [c["Subnet"] for c in net.attrs["IPAM"]["Config"] if ":" in c["Subnet"]]
    assert ula and ipaddress.ip_network(ula[0]).subnet_of(dualstack.ULA_SPACE)
    assert dualstack.network(lab, "v6-net")[0].id == net.id        # re-run: the same network
    lab.hello_server("web6", network="v6-net", bind="::")
    lab.run("client6", network="v6-net")
    table = dualstack.addresses(lab, ["web6", "client6"], "v6-net")
    web6 = table["IPv6"].iloc[0]
    assert ipaddress.ip_address(web6) in ipaddress.ip_network(ula[0]), table
    assert dualstack.aaaa(lab, "client6", "web6").stdout == web6
    assert dualstack.curl6(lab, "client6", "web6").expect_success().stdout == web6
