"""dockernet.playground on the real daemon: Apply builds, rebuilds and removes only the
playground's own objects, refuses bad input before touching Docker, and draws what Docker made.

Pings go only between containers these tests made. Each test has its own learner id.
"""

import ipaddress

import dockernet as dn
import pytest
from dockernet import hostlinks, playground
from dockernet.engines import parse_version
from dockernet.playgroundviews import network_playground


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab("02-pg-tests", learner=learner, client=client, quiet=True)


def _state(lab):
    """Every lab object's id and the networks each container is on."""
    return ({c.name: (c.id, sorted(c.attrs["NetworkSettings"]["Networks"])) for c in lab.containers()},
            {n.name: n.id for n in lab.networks()})


def _playground_networks(lab):
    return {lab.short_name(n): n for n in lab.networks() if lab.short_name(n).startswith("pg-")}


def test_apply_rebuilds_only_the_playground(lab):
    lab.network("keep-net")
    keep = lab.run("keep", network="keep-net")
    pg = network_playground(lab)                     # the default: 3 containers on 2 bridges
    first = pg.last
    assert set(_playground_networks(lab)) == set(first.networks)
    assert pg.matrix_out.outputs and pg.table_out.outputs and pg.plot_out.outputs
    before = pg.status_text()

    pg.driver.value, pg.prefix.value, pg.containers.value = "internal", 27, 4
    chosen = pg.apply()
    assert chosen is not None and chosen.containers == playground.container_names(4), pg.error_text()
    for net in _playground_networks(lab).values():
        net.reload()
        assert net.attrs["Internal"] is True
        assert ipaddress.ip_network(net.attrs["IPAM"]["Config"][0]["Subnet"]).prefixlen == 27
    table = pg.status_text()
    assert table != before and "4 containers" in table and "4 × 4 matrix" in table
    assert lab.get_container("keep").id == keep.id                     # not the playground's
    assert lab.short_name(lab.get_network("keep-net")) == "keep-net"

    pg.networks.value, pg.containers.value = 1, 2
    pg.apply()
    assert set(_playground_networks(lab)) == {"pg-net1"}
    assert sorted(lab.short_name(c) for c in lab.containers()) == ["keep", "pg-c1", "pg-c2"]


def test_the_matrix_follows_networks_and_icc(lab):
    pg = network_playground(lab, containers=3, networks=2)
    table, matrix = playground.views(lab, pg.last)
    shared = {name: set(nets) for name, nets in pg.last.memberships.items()}
    for source in matrix.index:
        for target in matrix.columns:
            assert bool(matrix.loc[source, target]) is bool(shared[source] & shared[target]), \
                (source, target)
    assert set(table.container) == set(pg.last.containers)

    pg.driver.value, pg.networks.value, pg.containers.value = "icc-off", 1, 2
    pg.apply()
    _, matrix = playground.views(lab, pg.last)
    assert not matrix.loc["pg-c1", "pg-c2"] and not matrix.loc["pg-c2", "pg-c1"]
    assert matrix.loc["pg-c1", "pg-c1"]                          # its own address still answers


@pytest.mark.parametrize("spoil", ["zero networks", "no network", "subnet too small"])
def test_bad_input_creates_nothing_and_keeps_the_views(lab, spoil):
    pg = network_playground(lab, containers=3, networks=2)
    state, status = _state(lab), pg.status_text()
    outputs = (pg.plot_out.outputs, pg.matrix_out.outputs, pg.table_out.outputs)
    if spoil == "zero networks":
        pg.networks.value = 0
    elif spoil == "no network":
        for box in pg.ticks[1]:
            box.value = False
    else:
        pg.prefix.value, pg.containers.value = 30, 4
    assert pg.apply() is None
    assert pg.error_text().startswith("✗ ")
    assert _state(lab) == state
    assert pg.status_text() == status
    assert (pg.plot_out.outputs, pg.matrix_out.outputs, pg.table_out.outputs) == outputs


def test_cleanup_removes_everything_the_playground_made(lab):
    network_playground(lab, containers=2, networks=2)
    assert _playground_networks(lab)
    lab.cleanup()
    assert not lab.containers() and not lab.networks()


def test_macvlan_hangs_off_the_lab_parent_where_the_engine_allows(client, lab_image, learner):
    lab = dn.Lab("08-pg-tests", learner=learner, client=client, quiet=True)
    try:
        version = client.version()["Version"]
        shares = parse_version(version) >= playground.MACVLAN_SHARED_PARENT
        parent = hostlinks.parent(lab)
        lab.network("lan", driver="macvlan", options={"parent": parent}, gateway=None)
        pg = network_playground(lab, containers=2, networks=2)
        if shares:
            assert pg.last.driver == "macvlan"
            for net in _playground_networks(lab).values():
                assert net.attrs["Driver"] == "macvlan"
                assert net.attrs["Options"]["parent"] == parent
            _, matrix = playground.views(lab, pg.last)
            assert matrix.loc["pg-c1", "pg-c2"] == bool(
                set(pg.last.memberships["pg-c1"]) & set(pg.last.memberships["pg-c2"]))
        else:  # lan holds the parent: macvlan is explained, and choosing it creates nothing
            assert pg.last.driver == "bridge" and "27.0" in pg.note.value
            state = _state(lab)
            pg.driver.value = "macvlan"
            assert pg.apply() is None and "not available here" in pg.error_text()
            assert _state(lab) == state
    finally:
        lab.cleanup()
    assert not hostlinks.lab_links(lab)
