"""Unit tests of the playground's checks (dockernet.playground.plan) and pure helpers.

Every refusal must happen here, before Docker is touched: the integration test checks that
a refused Apply leaves the daemon as it was.
"""

from __future__ import annotations

import ipaddress
import re

import pytest
from dockernet import addressing, playground
from dockernet.errors import LabError


def test_a_good_plan_names_only_playground_objects():
    chosen = playground.plan("icc-off", 28, [[True, False], [False, True]])
    assert chosen.networks == ("pg-net1", "pg-net2")
    assert chosen.memberships == {"pg-c1": ("pg-net1",), "pg-c2": ("pg-net2",)}
    assert all(name.startswith(playground.PREFIX) for name in [*chosen.networks, *chosen.containers])


@pytest.mark.parametrize(("driver", "prefix", "grid", "says"), [
    ("bridge", 28, [[]], "zero networks"),
    ("bridge", 28, [[True, False], [False, False]], "pg-c2 is on no network"),
    ("bridge", 30, [[True], [True]], "/30 subnet holds 1 container address, but 2"),
    ("bridge", 23, [[True]], "choose /24 to /30"),
    ("bridge", 28, [[True]] * 7, "7 containers: choose 1 to 6"),
    ("bridge", 28, [[True] * 4], "4 bridge networks"),
    ("overlay", 28, [[True]], "driver 'overlay' is not offered"),
])
def test_bad_choices_are_refused_with_the_fix(driver, prefix, grid, says):
    with pytest.raises(LabError, match=r"(?s).*" + re.escape(says)):
        playground.plan(driver, prefix, grid)


def test_capacity_follows_the_prefix():
    # A /29 holds usable_hosts(/29) containers on one network: one more is refused.
    room = addressing.usable_hosts(ipaddress.ip_network("10.0.0.0/29"))
    playground.plan("bridge", 29, [[True]] * room)
    with pytest.raises(LabError, match="choose /28"):
        playground.plan("bridge", 29, [[True]] * (room + 1))


def test_the_suggested_prefix_really_fits():
    with pytest.raises(LabError) as refused:
        playground.plan("bridge", 30, [[True]] * 5)
    suggested = int(str(refused.value).split("choose /")[1].split()[0])
    playground.plan("bridge", suggested, [[True]] * 5)


def test_unavailable_and_limited_drivers():
    with pytest.raises(LabError, match="macvlan is not available here: lan holds the parent"):
        playground.plan("macvlan", 28, [[True]], unavailable={"macvlan": "lan holds the parent."})
    with pytest.raises(LabError, match="one macvlan network per parent"):
        playground.plan("macvlan", 28, [[True, True]], max_networks={"macvlan": 1})
    assert playground.plan("macvlan", 28, [[True]], max_networks={"macvlan": 1}).driver == "macvlan"


def test_each_lesson_offers_drivers_that_exist():
    for lesson, offered in playground.LESSON_DRIVERS.items():
        assert offered and set(offered) <= set(playground.DRIVERS), lesson
    assert "macvlan" in playground.LESSON_DRIVERS["08"]


@pytest.mark.parametrize(("containers", "networks"), [(1, 1), (3, 2), (6, 3), (2, 3), (4, 0)])
def test_default_grid_puts_every_container_on_a_network(containers, networks):
    grid = playground.default_grid(containers, networks)
    assert len(grid) == containers and all(len(row) == networks for row in grid)
    if networks:
        assert all(any(row) for row in grid)
        playground.plan("bridge", 28, grid)


def test_ping_targets_prefer_a_shared_network():
    addresses = {"a": {"n1": "10.0.0.2"}, "b": {"n2": "10.0.1.2", "n1": "10.0.0.3"},
                 "c": {"n2": "10.0.1.3"}, "d": {}}
    targets = playground.ping_targets(addresses)
    assert targets[("a", "b")] == addresses["b"]["n1"]   # shared, though b's first is n2
    assert targets[("c", "b")] == addresses["b"]["n2"]
    assert targets[("a", "c")] == addresses["c"]["n2"]   # nothing shared: its first address
    assert targets[("a", "d")] is None
    assert len(targets) == len(addresses) ** 2
