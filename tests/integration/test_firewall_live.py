"""dockernet.firewall on the real daemon: this engine's rules for the lab's own networks.

Whatever backend and engine version the daemon has (the host's 20.10 with iptables,
the test engine's 28.5, a Docker 29 with nftables), the rules Docker wrote for a lab
network are found in the form that engine writes, agree with the traffic, and go
with the network. Each test uses its own learner id (the ``learner`` fixture).
"""

import dockernet as dn
import pytest
from dockernet import firewall, hostview
from dockernet.addressing import ipv4_configs

LESSON_ID = "92-firewall-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def test_a_lab_networks_masquerade_and_isolation_rules_are_found_and_go_with_it(lab):
    net = lab.network("fw-net")
    lab.hello_server("member", network="fw-net")
    lab.run("outsider")  # on the default bridge
    net.reload()
    bridge, subnet = hostview.bridge_interface(net.attrs), ipv4_configs(net.attrs)[0][0]

    masquerade = firewall.masquerade(lab, subnet=subnet, bridge=bridge)
    assert masquerade.attrs["backend"] in firewall.BACKENDS
    assert len(masquerade) == 1 and str(subnet) in masquerade.rule.iloc[0], masquerade
    isolation = firewall.isolation(lab, [bridge, "docker0"])
    assert isolation.attrs["isolated"] == {bridge: True, "docker0": True}, isolation
    assert isolation.attrs["forms"], "the engine's form of isolation has a name"
    named = [rule + chain for rule, chain in zip(isolation.rule, isolation.chain)]
    assert all(bridge in text or "docker0" in text for text in named), "other networks left out"
    # The rules agree with the traffic: the default bridge cannot reach fw-net.
    lab.curl("outsider", f"http://{lab.ip('member', 'fw-net')}:8000", timeout=1).expect_failure()

    lab.cleanup()  # the network goes, and its rules with it
    assert firewall.masquerade(lab, subnet=subnet, bridge=bridge).empty
    assert not firewall.isolation(lab, [bridge]).attrs["isolated"][bridge]


def test_the_whole_nat_table_and_one_chain(lab, client):
    backend_name, _source = firewall.backend(lab)
    table = "docker-bridges" if backend_name == "nftables" else "nat"
    everything = firewall.rules(lab, table=table)
    assert everything.attrs["backend"] == backend_name
    bridge_net = next(n for n in client.networks.list(names=["bridge"]) if n.name == "bridge")
    subnet = ipv4_configs(bridge_net.attrs)[0][0]
    found = firewall.masquerade_rules(everything.to_dict("records"), subnet, "docker0")
    assert len(found) == 1, everything
    chain = found[0]["chain"]
    only = firewall.rules(lab, table=table, chain=chain)
    assert set(only.chain) == {chain} and len(only) < len(everything)


@pytest.mark.parametrize("kwargs", [{"chain": "POSTROUTING; reboot"}, {"table": ["nat"]},
                                    {"table": "ip docker-bridges nat"}])
def test_malformed_names_raise_and_create_nothing(lab, kwargs):
    with pytest.raises(dn.LabError):
        firewall.rules(lab, **kwargs)
    with pytest.raises(dn.LabError, match="not a subnet"):
        firewall.masquerade(lab, subnet="172.17.0.0/33")
    with pytest.raises(dn.LabError, match="not a bridge interface name"):
        firewall.isolation(lab, ["docker0", "br-; reboot"])
    assert lab.containers(include_tools=True) == []


def test_unknown_tables_and_chains_name_the_ones_this_engine_has(lab):
    backend_name, _source = firewall.backend(lab)
    table = "docker-bridges" if backend_name == "nftables" else "filter"
    with pytest.raises(dn.LabError, match="table 'nats'"):
        firewall.rules(lab, table="nats")
    with pytest.raises(dn.LabError, match="no chain 'NO-SUCH-CHAIN'.*its chains: .*"):
        firewall.rules(lab, table=table, chain="NO-SUCH-CHAIN")
