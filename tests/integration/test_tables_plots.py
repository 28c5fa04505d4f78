"""Integration tests of dockernet.tables and dockernet.plots against the real daemon.

One lab (learner "hA-test"): helloworld and helloworld2 on Docker's default
bridge, my-net (a lab network) with db on it, and helloworld2 connected to
my-net too. Every expected value is read back from the daemon's own inspect
data; the lab is removed afterwards. No daemon is a failure, never a skip.
"""

from __future__ import annotations

import ipaddress

import dockernet as dn
import pytest
from dockernet import plots, tables
from dockernet.cleanup import lab_objects
from matplotlib.figure import Figure

LEARNER = "hA-test"
LESSON = "97-tables-plots"


@pytest.fixture(scope="module")
def lab():
    # Lab() raises DockerUnavailable (with the fix) when no daemon answers: the test fails.
    lab = dn.Lab(LESSON, learner=LEARNER, quiet=True)
    try:
        lab.run("helloworld", network="bridge")
        lab.run("helloworld2", network="bridge")
        lab.network("my-net")
        lab.run("db", network="my-net", aliases=["database"])
        lab.connect("helloworld2", "my-net")
        yield lab
    finally:
        lab.cleanup()
    assert not any(lab_objects(lab.client, lab.learner).values()), "cleanup left objects behind"


def inspect(lab, short):
    return lab.client.api.inspect_container(lab.get_container(short).id)


def test_networks_table_matches_the_daemon(lab):
    frame = tables.networks(lab)
    assert list(frame.columns) == tables.NETWORK_COLUMNS
    assert set(frame["network"]) == {"bridge", "my-net"}
    rows = frame.set_index("network")
    my_net = lab.client.api.inspect_network(lab.name("my-net"))
    bridge = lab.client.api.inspect_network("bridge")
    assert rows.loc["my-net", "docker_name"] == my_net["Name"] == lab.name("my-net")
    assert rows.loc["my-net", "subnet"] == my_net["IPAM"]["Config"][0]["Subnet"]
    assert rows.loc["my-net", "gateway"] == my_net["IPAM"]["Config"][0]["Gateway"]
    assert rows.loc["bridge", "subnet"] == bridge["IPAM"]["Config"][0]["Subnet"]
    # The default bridge's gateway: IPAM's if it says, else what its containers use.
    used = inspect(lab, "helloworld")["NetworkSettings"]["Networks"]["bridge"]["Gateway"]
    bridge_gateway = bridge["IPAM"]["Config"][0].get("Gateway") or used
    assert rows.loc["bridge", "gateway"] == bridge_gateway
    assert rows.loc["bridge", "driver"] == bridge["Driver"]
    assert rows.loc["my-net", "internal"] == my_net["Internal"]
    ours = {c.id for c in lab.containers()}
    for name, net in (("my-net", my_net), ("bridge", bridge)):
        assert rows.loc[name, "containers"] == len(ours & set(net["Containers"]))
    assert rows.loc["bridge", "containers"] == 2 and rows.loc["my-net", "containers"] == 2


def test_networks_table_names_restrict(lab):
    frame = tables.networks(lab, names=["none", "my-net"])
    assert list(frame["network"]) == ["none", "my-net"]
    assert frame.set_index("network").loc["none", "containers"] == 0
    with pytest.raises(dn.UnknownObject):
        tables.networks(lab, names=["no-such-net"])


def test_endpoints_table_matches_the_daemon(lab):
    frame = tables.endpoints(lab)
    assert list(frame.columns) == tables.ENDPOINT_COLUMNS
    expected = {}
    for container in lab.containers():
        raw = inspect(lab, lab.short_name(container))
        for net_name, endpoint in raw["NetworkSettings"]["Networks"].items():
            network = "my-net" if net_name == lab.name("my-net") else net_name
            expected[(lab.short_name(container), network)] = endpoint
    assert set(zip(frame["container"], frame["network"])) == set(expected)
    for row in frame.itertuples():
        endpoint = expected[(row.container, row.network)]
        assert row.ipv4 == endpoint["IPAddress"]
        assert row.prefix == endpoint["IPPrefixLen"]
        assert row.gateway == endpoint["Gateway"]
        assert row.mac == endpoint["MacAddress"]
    # Sorted by network, then numerically by address.
    keys = [(n, int(ipaddress.ip_address(ip))) for n, ip in zip(frame["network"], frame["ipv4"])]
    assert keys == sorted(keys)


def test_dns_names_follow_dockers_dns(lab):
    frame = tables.endpoints(lab)
    on_bridge = frame[frame["network"] == "bridge"]
    assert len(on_bridge) == 2 and all(names == [] for names in on_bridge["dns_names"])
    db = frame[(frame["container"] == "db")].iloc[0]
    raw = inspect(lab, "db")
    assert set(db["dns_names"]) == {"db", "database", raw["Name"].lstrip("/")}
    assert raw["Id"][:12] not in db["dns_names"]
    # The claim the column makes, checked with Docker's embedded DNS itself.
    for name in db["dns_names"]:
        found = lab.lookup("helloworld2", name, timeout=3).expect_success()
        assert raw["NetworkSettings"]["Networks"][lab.name("my-net")]["IPAddress"] in found.output
    lab.lookup("helloworld2", "helloworld", timeout=2).expect_failure()  # bridge: no DNS


def test_endpoints_filters(lab):
    frame = tables.endpoints(lab, networks=["my-net"], containers=["helloworld2"])
    assert list(zip(frame["container"], frame["network"])) == [("helloworld2", "my-net")]
    assert frame["ipv4"][0] == lab.ip("helloworld2", "my-net")
    with pytest.raises(dn.UnknownObject):
        tables.endpoints(lab, containers=["nobody"])


def test_subnets_figure_shows_the_daemons_addresses(lab, tmp_path):
    fig = plots.subnets(lab)
    assert isinstance(fig, Figure)
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    for row in tables.networks(lab).itertuples():
        subnet = ipaddress.ip_network(row.subnet)
        assert str(subnet.network_address) in texts and str(subnet.broadcast_address) in texts
    for container in ("helloworld", "helloworld2"):
        assert f"{container}\n{lab.ip(container, 'bridge')}" in texts
    assert f"db\n{lab.ip('db', 'my-net')}" in texts
    fig.savefig(tmp_path / "subnets.png")


def test_topology_figure_from_live_state(lab, tmp_path):
    graph = plots.topology_graph(tables.endpoints(lab))
    assert graph.has_edge(("container", "helloworld2"), ("network", "my-net"))
    assert graph.edges[("container", "db"), ("network", "my-net")]["ipv4"] == lab.ip("db", "my-net")
    fig = plots.topology(lab)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {lab.ip("helloworld", "bridge"), lab.ip("helloworld2", "my-net")} <= texts
    fig.savefig(tmp_path / "topology.png")


def test_reachability_figure_from_real_probes(lab):
    matrix = lab.reachability(["helloworld", "helloworld2", "db"], network=None, timeout=1)
    fig = plots.reachability(matrix, title="ping by IP")
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert cells.count("✓ yes") == int(matrix.to_numpy().sum())
    # db is on my-net only: helloworld (bridge only) cannot reach it, helloworld2 can.
    assert not matrix.loc["helloworld", "db"] and matrix.loc["helloworld2", "db"]
