"""Unit tests of dockernet.plots: the pure layout/graph functions and the drawn figures.

Data comes from the captured inspect JSON in tests/unit/data (see test_tables.py),
turned into tables by dockernet.tables' pure functions; expected values are
computed from that data with ipaddress, never typed in. Figures are drawn with
the Agg canvas and checked for what a learner must see (labels present, no
label hiding another).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from dockernet import plots, tables
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def frames():
    containers = json.loads((DATA / "containers_inspect.json").read_text())
    networks = json.loads((DATA / "networks_inspect.json").read_text())
    names = {n["Name"]: n["Labels"]["dockernet.name"] for n in networks
             if n["Labels"].get("dockernet.lab") == "1"}
    nets = tables.networks_frame(tables.network_rows(
        networks, [c["Id"] for c in containers], tables.endpoint_gateways(containers)))
    eps = tables.endpoints_frame(tables.endpoint_rows(containers, names))
    return nets, eps


def synthetic(counts: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables for networks {name: (subnet, containers)}, addresses handed out as Docker does."""
    nets, eps = [], []
    for name, (subnet, count) in counts.items():
        hosts = ipaddress.ip_network(subnet).hosts()
        gateway = str(next(hosts))
        nets.append({"network": name, "docker_name": name, "driver": "bridge", "subnet": subnet,
                     "gateway": gateway, "internal": False, "containers": count})
        for i in range(count):
            eps.append({"container": f"{name}-container{i + 1}", "network": name,
                        "ipv4": str(next(hosts)), "prefix": int(subnet.split("/")[1]),
                        "gateway": gateway, "mac": None, "dns_names": []})
    return tables.networks_frame(nets), tables.endpoints_frame(eps)


def text_boxes(fig: Figure) -> list:
    """Window extents of every label drawn in the figure's axes (their bbox patch if boxed)."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        for text in ax.texts:
            patch = text.get_bbox_patch()
            # Text's own extent: an Annotation's would include its connector line.
            extent = patch.get_window_extent(renderer) if patch else Text.get_window_extent(
                text, renderer)
            boxes.append((text.get_text(), extent))
    return boxes


def overlapping(boxes) -> list:
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
            if box_a.overlaps(box_b)]


# -- subnet layout -------------------------------------------------------------------------


def test_band_position_spans_each_subnet():
    for prefix in (16, 24, 28):
        size = ipaddress.ip_network(f"10.0.0.0/{prefix}").num_addresses
        xs = [plots.band_position(offset, size) for offset in range(0, size, max(size // 64, 1))]
        assert xs[0] == 0.0 and plots.band_position(size - 1, size) == pytest.approx(1.0)
        assert all(a < b for a, b in zip(xs, xs[1:]))


def test_low_addresses_stay_apart_in_a_slash16():
    # The reason for the per-band log scale: .1 .2 .3 must not collapse into one point.
    size = 2 ** 16
    xs = [plots.band_position(offset, size) for offset in (1, 2, 3)]
    assert min(b - a for a, b in zip(xs, xs[1:])) > 0.01


def test_spread_labels_keeps_order_gap_and_bounds():
    for count in range(1, 9):
        placed = plots.spread_labels([0.5] * count, gap=0.1, low=0.04, high=0.96)
        assert all(0.04 - 1e-9 <= x <= 0.96 + 1e-9 for x in placed)
        gap = min(0.1, 0.92 / max(count - 1, 1))
        assert all(b - a >= gap - 1e-9 for a, b in zip(placed, placed[1:]))
    assert plots.spread_labels([0.2, 0.7], gap=0.1) == [0.2, 0.7]  # room enough: not moved
    assert plots.spread_labels([]) == []


def test_subnet_layout_one_band_per_subnet(frames):
    nets, eps = frames
    layout = plots.subnet_layout(nets, eps)
    with_subnet = nets[nets["subnet"].notna()]
    assert [b["network"] for b in layout] == list(with_subnet["network"])
    assert "host" not in {b["network"] for b in layout}
    for band, net in zip(layout, with_subnet.itertuples()):
        subnet = ipaddress.ip_network(net.subnet)
        assert band["first"] == str(subnet.network_address)
        assert band["last"] == str(subnet.broadcast_address)
        assert (band["prefix"], band["size"]) == (subnet.prefixlen, subnet.num_addresses)
    assert {b["prefix"] for b in layout} == {16, 24}  # the fixture has a /16 next to a /24


def test_subnet_layout_marks_gateway_and_every_container(frames):
    nets, eps = frames
    for band in plots.subnet_layout(nets, eps):
        subnet = ipaddress.ip_network(band["subnet"])
        here = eps[(eps["network"] == band["network"]) & eps["ipv4"].notna()]
        gateway = nets.set_index("network").loc[band["network"], "gateway"]
        expected = {("gateway", gateway), *zip(here["container"], here["ipv4"])}
        assert {(m["name"], m["address"]) for m in band["marks"]} == expected
        offsets = [m["offset"] for m in band["marks"]]
        assert offsets == sorted(offsets)
        for mark in band["marks"]:
            assert mark["offset"] == int(ipaddress.ip_address(mark["address"])) - int(
                subnet.network_address)
            assert mark["x"] == pytest.approx(plots.band_position(mark["offset"], band["size"]))
            assert mark["name"] in mark["label"] and mark["address"] in mark["label"]
        xs = [m["label_x"] for m in band["marks"]]
        assert all(b - a > 0 for a, b in zip(xs, xs[1:]))  # order kept, never on top
        widest = max(len(line) for m in band["marks"] for line in m["label"].split("\n"))
        for tier in range(band["tiers"]):
            same = [m["label_x"] for m in band["marks"] if m["label_tier"] == tier]
            assert all(b - a >= widest * plots.LABEL_CHAR_WIDTH for a, b in zip(same, same[1:]))


def test_subnet_layout_skips_networks_without_subnet():
    nets = pd.DataFrame([{"network": "host", "subnet": None, "gateway": None}])
    eps = pd.DataFrame(columns=tables.ENDPOINT_COLUMNS)
    assert plots.subnet_layout(nets, eps) == []


@pytest.mark.parametrize("count", [1, 2, 4, 6])
def test_subnets_figure_labels_do_not_overlap(count):
    nets, eps = synthetic({"wide": ("172.30.0.0/16", count), "narrow": ("10.9.0.0/24", count)})
    layout = plots.subnet_layout(nets, eps)
    fig = plots.subnets_figure(layout)
    boxes = text_boxes(fig)
    shown = [text for text, _ in boxes]
    for band in layout:
        assert band["first"] in shown and band["last"] in shown
        assert all(mark["label"] in shown for mark in band["marks"])
    assert overlapping(boxes) == []
    assert fig.axes[0].get_title(loc="left")


def test_subnets_figure_from_fixture_is_readable(frames, tmp_path):
    fig = plots.subnets_figure(plots.subnet_layout(*frames), title="fixture")
    assert overlapping(text_boxes(fig)) == []
    fig.savefig(tmp_path / "subnets.png")
    assert (tmp_path / "subnets.png").stat().st_size > 10_000


def test_subnets_figure_without_bands_says_so():
    fig = plots.subnets_figure([])
    assert any("No network" in t.get_text() for t in fig.axes[0].texts)


# -- topology ----------------------------------------------------------------------------


def test_topology_graph_is_bipartite_with_addresses(frames):
    _, eps = frames
    graph = plots.topology_graph(eps)
    containers = {n for n, d in graph.nodes(data=True) if d["bipartite"] == 0}
    networks = {n for n, d in graph.nodes(data=True) if d["bipartite"] == 1}
    assert nx.is_bipartite(graph)
    assert containers == {("container", c) for c in eps["container"]}
    assert networks == {("network", n) for n in eps["network"]}
    assert graph.number_of_edges() == len(eps)
    for row in eps.itertuples():
        edge = graph.edges[("container", row.container), ("network", row.network)]
        if pd.isna(row.ipv4):
            assert edge["ipv4"] is None and edge["label"] == "no IP"
        else:
            assert edge["ipv4"] == edge["label"] == row.ipv4


def test_topology_graph_network_subnets_match_the_networks_table(frames):
    nets, eps = frames
    graph = plots.topology_graph(eps)
    subnet_of = dict(zip(nets["network"], nets["subnet"]))
    for node, data in graph.nodes(data=True):
        if data["kind"] == "network":
            expected = subnet_of[node[1]]
            assert data["subnet"] == (None if pd.isna(expected) else expected)


def test_topology_graph_keeps_a_container_and_network_of_one_name_apart():
    eps = pd.DataFrame([{"container": "web", "network": "web", "ipv4": "10.9.0.2", "prefix": 24}])
    assert plots.topology_graph(eps).number_of_nodes() == 2


def test_topology_positions_rows_and_fewer_crossings():
    # c1 on n2 only, c2 on n1 only: drawn in name order they would cross; the layout uncrosses.
    eps = pd.DataFrame([{"container": "c1", "network": "n2", "ipv4": "10.0.1.2", "prefix": 24},
                        {"container": "c2", "network": "n1", "ipv4": "10.0.0.2", "prefix": 24}])
    graph = plots.topology_graph(eps)
    pos = plots.topology_positions(graph)
    assert {pos[n][1] for n in graph if n[0] == "container"} == {1.0}
    assert {pos[n][1] for n in graph if n[0] == "network"} == {0.0}
    (a, b), (c, d) = [(pos[u][0], pos[v][0]) for u, v in
                      [(("container", "c1"), ("network", "n2")),
                       (("container", "c2"), ("network", "n1"))]]
    assert (a - c) * (b - d) > 0  # same left-to-right order on both rows: no crossing


@pytest.mark.parametrize("count", [2, 4, 6])
def test_topology_figure_labels_do_not_overlap(frames, count):
    nets, eps = synthetic({"front": ("10.9.0.0/24", count), "back": ("172.30.0.0/16", count)})
    # Half the containers on both networks, as in a front/back tier lesson.
    shared = eps[eps["network"] == "front"].head(count // 2).assign(
        network="back", ipv4=[f"172.30.1.{i + 2}" for i in range(count // 2)], prefix=16)
    eps = tables.endpoints_frame(pd.concat([eps, shared]).to_dict("records"))
    for frame in (eps, frames[1]):
        graph = plots.topology_graph(frame)
        fig = plots.topology_figure(graph)
        boxes = text_boxes(fig)
        shown = [text for text, _ in boxes]
        assert all(data["label"] in shown for *_, data in graph.edges(data=True))
        assert overlapping(boxes) == []
        handles = fig.axes[0].get_legend().get_texts()
        assert {t.get_text().split(" ")[0] for t in handles} >= {"container", "network"}


# -- reachability ----------------------------------------------------------------------------


def test_reachability_marks_each_cell():
    names = ["a", "b", "c"]
    matrix = pd.DataFrame([[True, False, True], [False, True, None], [True, True, False]],
                          index=names, columns=names)
    fig = plots.reachability(matrix, title="ICC off")
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert cells.count("✓ yes") == 5 and cells.count("✗ no") == 3 and cells.count("?") == 1
    grid = ax.images[0].get_array()
    assert grid[0, 0] == 1 and grid[0, 1] == 0 and np.ma.is_masked(grid[1, 2])
    assert ax.get_title(loc="left") == "ICC off"
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert overlapping(text_boxes(fig)) == []


def test_reachability_colours_green_and_red():
    matrix = pd.DataFrame([[True, False]], index=["a"], columns=["a", "b"])
    image = plots.reachability(matrix).axes[0].images[0]
    yes, no = image.cmap(image.norm(1.0)), image.cmap(image.norm(0.0))
    assert yes[1] > yes[0] and no[0] > no[1]  # green dominates yes, red dominates no


def test_figures_are_figures_not_shown(frames):
    nets, eps = frames
    for fig in (plots.subnets_figure(plots.subnet_layout(nets, eps)),
                plots.topology_figure(plots.topology_graph(eps)),
                plots.reachability(pd.DataFrame([[True]], index=["a"], columns=["a"]))):
        assert isinstance(fig, Figure)
