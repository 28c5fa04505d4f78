"""Pictures of a lab: subnets and addresses, the container <-> network graph, reachability.

Every function returns a :class:`matplotlib.figure.Figure` (Jupyter shows it when it
is a cell's last value) and never calls ``plt.show()``. Each picture has a pure
half that computes what to draw from tables (:func:`subnet_layout`,
:func:`topology_graph`), unit tested without a daemon, and a drawing half.

>>> import dockernet as dn
>>> from dockernet import plots
>>> lab = dn.Lab("02-user-defined-bridge", quiet=True)
>>> _ = lab.network("my-net"), lab.run("a", network="my-net"), lab.run("b", network="my-net")
>>> plots.subnets(lab)                              # doctest: +ELLIPSIS
<Figure size ... with 1 Axes>
>>> plots.topology(lab)                             # doctest: +ELLIPSIS
<Figure size ... with 1 Axes>
>>> plots.reachability(lab.reachability(["a", "b"]))   # doctest: +ELLIPSIS
<Figure size ... with 1 Axes>
"""

from __future__ import annotations

import ipaddress
import math

import matplotlib.colors as mcolors
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch

from . import tables

CONTAINER_COLOR = "#4C72B0"
NETWORK_COLOR = "#DD8452"
GATEWAY_COLOR = "#333333"
YES_COLOR = "#55A868"
NO_COLOR = "#C44E52"
UNKNOWN_COLOR = "#BBBBBB"
#: One character of an 8 pt bold label, as a fraction of a band in the 11-inch-wide figure.
LABEL_CHAR_WIDTH = 0.0085
#: Room kept at each end of a band, so that the outermost labels stay over it.
LABEL_MARGIN = 0.04
#: How much higher the second tier of labels sits, when one row of labels does not fit.
TIER_STEP = 0.3


def _show_figures_in_notebooks() -> None:
    """Let Jupyter draw a returned Figure as an image, without pyplot.

    Figures made with ``Figure()`` stay out of pyplot's list, so the inline
    backend never shows them twice; but its image formatter is only installed
    once pyplot is imported. Install a PNG one if nothing handles Figures yet
    (a learner's own ``%config InlineBackend`` or pyplot setting wins).
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_show_figures_in_notebooks()


# -- subnets: pure layout ------------------------------------------------------------------


def band_position(offset: int, size: int) -> float:
    """Where an address ``offset`` places sit on its subnet's band, from 0 (first) to 1 (last).

    Each band gets its own scale, and it is logarithmic: ``log(1 + offset) /
    log(size)``. Docker hands out addresses from the bottom of a subnet (gateway
    .1, then .2, .3, ...), so a lesson's handful of containers sits in the first
    few addresses. On a linear scale they would pile up in one point of a /16
    (3 / 65536 of the band); on a per-band log scale they are spread out the same
    way in a /16 and a /24, while both ends still show the first and last address.

    >>> band_position(0, 256), band_position(255, 256)
    (0.0, 1.0)
    >>> round(band_position(1, 256), 3), round(band_position(1, 65536), 4)
    (0.125, 0.0625)
    """
    if size <= 1:
        return 0.0
    return math.log1p(offset) / math.log(size)


def spread_labels(positions: list[float], gap: float = 0.1, low: float = 0.0,
                  high: float = 1.0) -> list[float]:
    """Move label positions apart (order kept) so that neighbours are ``gap`` apart.

    Labels stay as close to their marks as the gap allows; when there are more
    labels than fit, the gap shrinks to share the room evenly.

    >>> [round(x, 2) for x in spread_labels([0.1, 0.11, 0.12], gap=0.1)]
    [0.1, 0.2, 0.3]
    >>> spread_labels([0.95, 0.99], gap=0.1)
    [0.9, 1.0]
    """
    if not positions:
        return []
    gap = min(gap, (high - low) / max(len(positions) - 1, 1))
    placed = []
    for x in positions:  # push right, past the previous label
        placed.append(max(min(max(x, low), high), placed[-1] + gap if placed else low))
    placed[-1] = min(placed[-1], high)
    for i in range(len(placed) - 2, -1, -1):  # then pull back from the right end
        placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed


def subnet_layout(networks_df: pd.DataFrame, endpoints_df: pd.DataFrame,
                  char_width: float = LABEL_CHAR_WIDTH) -> list[dict]:
    """What :func:`subnets` draws: one band per network with an IPv4 subnet.

    Args:
        char_width: the width of one label character as a fraction of a band.
        networks_df: :func:`dockernet.tables.networks` (``network``, ``subnet``,
            ``gateway`` are used).
        endpoints_df: :func:`dockernet.tables.endpoints` (``container``,
            ``network``, ``ipv4``).

    Returns:
        list of dict, top band first: ``network``, ``subnet``, ``prefix``, ``size``
        (addresses), ``first`` and ``last`` (addresses), ``row`` (0 at the top) and
        ``marks``: the gateway and each container's address, in address order, each a
        dict with ``kind`` (``"gateway"``/``"container"``), ``name``, ``address``,
        ``offset`` (places after the first address), ``x`` (see :func:`band_position`),
        ``label``, ``label_x`` (moved apart from its neighbours) and ``label_tier``
        (0, or 1 for every other label when one row of labels does not fit); the
        band's ``tiers`` (1 or 2) and ``y`` (its height in the figure, 0 at the top).
        Networks without a subnet (``host``, ``none``) have no band.

    >>> nets = pd.DataFrame([{"network": "my-net", "subnet": "10.9.0.0/24",
    ...                       "gateway": "10.9.0.1"}])
    >>> eps = pd.DataFrame([{"container": "web", "network": "my-net", "ipv4": "10.9.0.2"}])
    >>> band = subnet_layout(nets, eps)[0]
    >>> band["first"], band["last"], [m["label"] for m in band["marks"]]
    ('10.9.0.0', '10.9.0.255', ['gateway\\n10.9.0.1', 'web\\n10.9.0.2'])
    """
    bands = []
    for net in networks_df.itertuples():
        if pd.isna(net.subnet):
            continue
        subnet = ipaddress.ip_network(net.subnet, strict=False)
        marks = []
        if not pd.isna(net.gateway):
            marks.append(("gateway", "gateway", net.gateway))
        here = endpoints_df[(endpoints_df["network"] == net.network) & endpoints_df["ipv4"].notna()]
        marks += [("container", row.container, row.ipv4) for row in here.itertuples()]
        placed = []
        for kind, name, address in marks:
            offset = int(ipaddress.ip_address(address)) - int(subnet.network_address)
            placed.append({"kind": kind, "name": name, "address": address, "offset": offset,
                           "x": band_position(offset, subnet.num_addresses),
                           "label": f"{name}\n{address}"})
        placed.sort(key=lambda m: m["offset"])
        tiers = _place_labels(placed, char_width)
        y = (bands[-1]["y"] - 1.0 if bands else 0.0) - TIER_STEP * (tiers - 1)
        bands.append({"network": net.network, "subnet": str(subnet), "prefix": subnet.prefixlen,
                      "size": subnet.num_addresses, "first": str(subnet.network_address),
                      "last": str(subnet.broadcast_address), "row": len(bands), "y": y,
                      "tiers": tiers, "marks": placed})
    return bands


def _place_labels(marks: list[dict], char_width: float) -> int:
    """Set each mark's ``label_x`` and ``label_tier``; return how many tiers of labels it takes.

    The gap between labels is the widest label's width. When one row of labels
    does not fit on the band, they alternate between two heights, so that
    neighbours on one height are a full gap apart and neighbours overall half one.
    """
    if not marks:
        return 1
    widest = max(len(line) for m in marks for line in m["label"].split("\n"))
    gap = (widest + 2) * char_width
    room = 1 - 2 * LABEL_MARGIN
    tiers = 1 if gap * (len(marks) - 1) <= room else 2
    # Labels are centred on label_x: the margin keeps the outermost ones over the band.
    spread = spread_labels([m["x"] for m in marks], gap=gap / tiers, low=LABEL_MARGIN,
                           high=1 - LABEL_MARGIN)
    for i, (mark, label_x) in enumerate(zip(marks, spread)):
        mark["label_x"], mark["label_tier"] = label_x, i % tiers
    return tiers


# -- subnets: drawing ----------------------------------------------------------------------


def container_colors(names) -> dict:
    """One colour per container (by name), the same in every band of a figure."""
    palette = [c for i, c in enumerate(mcolors.TABLEAU_COLORS.values()) if i != 7]  # no grey
    return {name: palette[i % len(palette)] for i, name in enumerate(sorted(set(names)))}


def subnets_figure(layout: list[dict], title: str | None = None) -> Figure:
    """Draw a :func:`subnet_layout`: one band per subnet, addresses marked and labelled."""
    top, bottom = 1.05, (layout[-1]["y"] if layout else 0.0) - 0.45
    # About 1.55 inches per band (labels, band, end addresses), plus title and caption.
    fig = Figure(figsize=(11, 1.0 + 1.55 * (top - bottom - 0.5)), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title or "Subnets and the addresses Docker handed out", loc="left",
                 fontweight="bold")
    if not layout:
        ax.text(0.5, 0.5, "No network with an IPv4 subnet to show.", ha="center", va="center")
        ax.set_axis_off()
        return fig
    colors = container_colors(m["name"] for band in layout for m in band["marks"]
                              if m["kind"] == "container")
    for band in layout:
        y = band["y"]
        ax.add_patch(_band_patch(y))
        ax.text(0, y - 0.16, band["first"], ha="left", va="top", fontsize=8, color="0.35")
        ax.text(1, y - 0.16, band["last"], ha="right", va="top", fontsize=8, color="0.35")
        ax.text(0.5, y - 0.16, f"/{band['prefix']}: {band['size']:,} addresses",
                ha="center", va="top", fontsize=8, color="0.35", style="italic")
        for mark in band["marks"]:
            is_gateway = mark["kind"] == "gateway"
            color = GATEWAY_COLOR if is_gateway else colors[mark["name"]]
            ax.plot(mark["x"], y, marker="^" if is_gateway else "o", markersize=9, color=color,
                    markeredgecolor="white", zorder=3)
            label_y = y + 0.42 + TIER_STEP * mark["label_tier"]
            ax.annotate(mark["label"], xy=(mark["x"], y + 0.07), xytext=(mark["label_x"], label_y),
                        ha="center", va="bottom", fontsize=8, color=color,
                        fontweight="normal" if is_gateway else "bold",
                        arrowprops={"arrowstyle": "-", "color": color, "lw": 0.8,
                                    "shrinkA": 0, "shrinkB": 0})
    ax.set_yticks([band["y"] for band in layout],
                  [f"{band['network']}\n{band['subnet']}" for band in layout], fontsize=10)
    ax.set_ylim(bottom, top)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks([])
    ax.set_xlabel("position inside each subnet: first address on the left, last on the right "
                  "(log scale per band, so the low addresses Docker uses first get room)",
                  fontsize=8, color="0.35")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    handles = [Line2D([], [], marker="^", linestyle="", color=GATEWAY_COLOR, label="gateway"),
               Line2D([], [], marker="o", linestyle="", color="0.5", label="container")]
    ax.legend(handles=handles, loc="upper right", bbox_to_anchor=(1, 1.0), ncols=2, fontsize=8,
              frameon=False)
    return fig


def _band_patch(y: float):
    return FancyBboxPatch((0, y - 0.06), 1, 0.12, boxstyle="round,pad=0,rounding_size=0.03",
                          facecolor="#DCE6F2", edgecolor="#8FAACC", lw=1, zorder=1)


def subnets(lab, networks=None, title: str | None = None) -> Figure:
    """Each subnet as a band of addresses, with the gateway and every container on it.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        networks (list of str): only these networks (default: as :func:`dockernet.tables.networks`).
        title (str): the figure's title.

    Returns:
        matplotlib.figure.Figure

    >>> _ = lab.network("my-net")
    >>> subnets(lab, networks=["bridge", "my-net"])    # doctest: +ELLIPSIS
    <Figure size ... with 1 Axes>
    """
    layout = subnet_layout(tables.networks(lab, names=networks),
                           tables.endpoints(lab, networks=networks))
    return subnets_figure(layout, title)


# -- topology --------------------------------------------------------------------------------


def topology_graph(endpoints_df: pd.DataFrame) -> nx.Graph:
    """Containers and networks as a bipartite graph, one edge per endpoint.

    Nodes are ``("container", name)`` (``bipartite=0``) and ``("network", name)``
    (``bipartite=1``), so a container and a network may share a name. Each node has
    ``kind`` and ``label``; networks also ``subnet`` (from the endpoints' address
    and prefix, ``None`` for ``host``/``none``). Each edge has ``ipv4`` and ``label``
    (the address, or ``"no IP"`` when the container has none there).

    >>> eps = pd.DataFrame([{"container": "web", "network": "my-net", "ipv4": "10.9.0.2",
    ...                      "prefix": 24}])
    >>> g = topology_graph(eps)
    >>> g.edges[("container", "web"), ("network", "my-net")]["label"]
    '10.9.0.2'
    >>> g.nodes[("network", "my-net")]["subnet"]
    '10.9.0.0/24'
    """
    graph = nx.Graph()
    for row in endpoints_df.itertuples():
        container, network = ("container", row.container), ("network", row.network)
        graph.add_node(container, kind="container", label=row.container, bipartite=0)
        if network not in graph:
            graph.add_node(network, kind="network", label=row.network, bipartite=1, subnet=None)
        has_ip = not pd.isna(row.ipv4)
        if has_ip and not pd.isna(row.prefix) and graph.nodes[network]["subnet"] is None:
            graph.nodes[network]["subnet"] = str(
                ipaddress.ip_interface(f"{row.ipv4}/{int(row.prefix)}").network)
        graph.add_edge(container, network, ipv4=row.ipv4 if has_ip else None,
                       label=row.ipv4 if has_ip else "no IP")
    return graph


def topology_positions(graph: nx.Graph, sweeps: int = 8) -> dict:
    """Networks on the bottom row, containers on the top row, ordered to cross little.

    The rows are ordered by the barycentre heuristic (as in Sugiyama-style layered
    drawings): each container moves above the mean position of its networks, then
    each network below the mean of its containers, a few sweeps until nothing moves.
    Ties keep the names' order, so the same lab always gives the same picture.
    """
    networks = sorted((n for n, d in graph.nodes(data=True) if d["kind"] == "network"),
                      key=lambda n: n[1])
    containers = sorted((n for n, d in graph.nodes(data=True) if d["kind"] == "container"),
                        key=lambda n: n[1])
    for _sweep in range(sweeps):  # bounded: the heuristic usually settles in two or three
        net_x = dict(zip(networks, _row(len(networks))))
        new_containers = sorted(containers, key=lambda c: (_mean(net_x, graph[c]), c[1]))
        cont_x = dict(zip(new_containers, _row(len(new_containers))))
        new_networks = sorted(networks, key=lambda n: (_mean(cont_x, graph[n]), n[1]))
        if new_containers == containers and new_networks == networks:
            break
        containers, networks = new_containers, new_networks
    pos = {n: (x, 0.0) for n, x in zip(networks, _row(len(networks)))}
    pos.update({c: (x, 1.0) for c, x in zip(containers, _row(len(containers)))})
    return pos


def _mean(positions: dict, neighbours) -> float:
    return float(np.mean([positions[n] for n in neighbours])) if len(neighbours) else 0.5


def _row(count: int) -> list[float]:
    """``count`` evenly spaced x positions in [0, 1] (one node: the middle)."""
    return [0.5] if count == 1 else [float(x) for x in np.linspace(0, 1, count)]


#: Where along an edge (0: at the container, 1: at the network) its label may go, best first.
LABEL_STEPS = (0.3, 0.45, 0.2, 0.6, 0.75)


def edge_label_positions(graph: nx.Graph, pos: dict, char_width: float = 0.009,
                         line_height: float = 0.07) -> dict:
    """A place on each edge for its address label, where it hides no other label.

    Labels go near the container end (where its edges have not yet met the
    others); a label that would overlap one already placed slides along its own
    edge to the next of :data:`LABEL_STEPS`. Sizes are in data units.

    Returns:
        dict: ``{(container node, network node): (x, y)}``.
    """
    edges = []
    for u, v, data in graph.edges(data=True):
        container, network = (u, v) if graph.nodes[u]["kind"] == "container" else (v, u)
        edges.append((pos[container], pos[network], container, network, data["label"]))
    edges.sort(key=lambda e: (e[0][0], e[1][0]))
    placed, boxes = {}, []
    for start, end, container, network, label in edges:
        half_w, half_h = (len(label) + 1) * char_width / 2, line_height / 2

        def badness(point, own=(start, end), half_w=half_w, half_h=half_h):
            # Hiding another label is worst; sitting on another edge makes it ambiguous.
            hidden = sum(abs(point[0] - bx) < half_w + bw and abs(point[1] - by) < half_h + bh
                         for bx, by, bw, bh in boxes)
            crossed = sum(_passes_through(a, b, point, half_w) for a, b, *_ in edges
                          if (a, b) != own)
            return 10 * hidden + crossed

        options = [(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
                   for t in LABEL_STEPS]
        best = min(options, key=badness)  # min keeps the first of equals: the preferred step
        placed[(container, network)] = best
        boxes.append((best[0], best[1], half_w, half_h))
    return placed


def _passes_through(a, b, point, half_width) -> bool:
    """Does the segment a-b cross the label centred at ``point`` (at its height)?"""
    (x0, y0), (x1, y1) = a, b
    if y0 == y1 or not min(y0, y1) <= point[1] <= max(y0, y1):
        return False
    x = x0 + (point[1] - y0) / (y1 - y0) * (x1 - x0)
    return abs(x - point[0]) < half_width


def topology_figure(graph: nx.Graph, title: str | None = None) -> Figure:
    """Draw a :func:`topology_graph`: containers on top, networks below, edges labelled."""
    containers = [n for n, d in graph.nodes(data=True) if d["kind"] == "container"]
    networks = [n for n, d in graph.nodes(data=True) if d["kind"] == "network"]
    # Room per node for its name (10 pt bold: about 0.1 inch a character).
    longest = max((len(graph.nodes[n]["label"]) for n in graph), default=0)
    per_node = max(1.6, 0.1 * longest + 0.4)
    width, height = max(7.0, per_node * max(len(containers), len(networks), 1) + 1), 5.2
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title or "Which container is on which network", loc="left", fontweight="bold")
    ax.set_axis_off()
    if not graph:
        ax.text(0.5, 0.5, "No container is attached to a network.", ha="center", va="center")
        return fig
    xlim, ylim = (-0.15, 1.15), (-0.45, 1.3)
    pos = topology_positions(graph)
    nx.draw_networkx_edges(graph, pos, ax=ax, edge_color="0.55", width=1.6)
    nx.draw_networkx_nodes(graph, pos, nodelist=containers, node_shape="s", node_size=900,
                           node_color=CONTAINER_COLOR, ax=ax)
    nx.draw_networkx_nodes(graph, pos, nodelist=networks, node_shape="h", node_size=1500,
                           node_color=NETWORK_COLOR, ax=ax)
    for node in containers:
        x, y = pos[node]
        ax.text(x, y + 0.1, graph.nodes[node]["label"], ha="center", va="bottom",
                fontsize=10, fontweight="bold")
    for node in networks:
        x, y = pos[node]
        subnet = graph.nodes[node]["subnet"]
        ax.text(x, y - 0.12, graph.nodes[node]["label"] + (f"\n{subnet}" if subnet else ""),
                ha="center", va="top", fontsize=10, fontweight="bold")
    # Label sizes in data units, from the figure's size (8 pt monospace: 0.6 em a character).
    axes_w, axes_h = (width - 0.4) * 72, (height - 0.9) * 72
    char_width = 0.6 * 8 / axes_w * (xlim[1] - xlim[0])
    line_height = (8 * 1.2 + 2 * 0.2 * 8 + 4) / axes_h * (ylim[1] - ylim[0])
    places = edge_label_positions(graph, pos, char_width, line_height)
    for (container, network), (x, y) in places.items():
        ax.text(x, y, graph.edges[container, network]["label"], ha="center", va="center",
                fontsize=8, family="monospace", zorder=4,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.75"})
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.legend(handles=[
        Line2D([], [], marker="s", linestyle="", markersize=10, color=CONTAINER_COLOR,
               label="container"),
        Line2D([], [], marker="h", linestyle="", markersize=12, color=NETWORK_COLOR,
               label="network"),
        Line2D([], [], color="0.55", lw=1.6, label="attached (label: its IPv4 address there)")],
        loc="lower center", bbox_to_anchor=(0.5, -0.08), ncols=3, fontsize=8, frameon=False)
    return fig


def topology(lab, title: str | None = None) -> Figure:
    """Containers <-> networks of the lab, from live state, edges labelled with addresses.

    >>> _ = lab.run("web")
    >>> topology(lab)                                # doctest: +ELLIPSIS
    <Figure size ... with 1 Axes>
    """
    return topology_figure(topology_graph(tables.endpoints(lab)), title)


# -- reachability ----------------------------------------------------------------------------


def reachability(matrix: pd.DataFrame, title: str | None = None) -> Figure:
    """A heat map of who reaches whom: rows are sources (from), columns targets (to).

    Args:
        matrix: booleans as returned by ``lab.reachability``; a missing value
            (not tested) shows grey.
        title (str): the figure's title.

    Returns:
        matplotlib.figure.Figure

    >>> m = pd.DataFrame({"a": [True, False], "b": [True, True]}, index=["a", "b"])
    >>> reachability(m).axes[0].get_title(loc="left")
    'Who can reach whom'
    """
    values = matrix.apply(lambda col: col.map(lambda v: np.nan if pd.isna(v) else float(bool(v))))
    grid = np.ma.masked_invalid(values.to_numpy(dtype=float))
    rows, cols = grid.shape
    fig = Figure(figsize=(max(4.5, 1.3 * cols + 2.2), max(3.0, 0.75 * rows + 1.8)),
                 layout="constrained")
    ax = fig.subplots()
    cmap = mcolors.ListedColormap([NO_COLOR, YES_COLOR]).with_extremes(bad=UNKNOWN_COLOR)
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i in range(rows):
        for j in range(cols):
            text = "?" if grid.mask is not np.ma.nomask and grid.mask[i, j] else (
                "✓ yes" if grid[i, j] else "✗ no")
            ax.text(j, i, text, ha="center", va="center", color="white", fontsize=11,
                    fontweight="bold")
    ax.set_xticks(range(cols), [str(c) for c in matrix.columns])
    ax.set_yticks(range(rows), [str(r) for r in matrix.index])
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=3)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title or "Who can reach whom", loc="left", fontweight="bold")
    handles = [Patch(color=YES_COLOR, label="reaches"), Patch(color=NO_COLOR, label="does not")]
    if grid.mask is not np.ma.nomask and grid.mask.any():
        handles.append(Patch(color=UNKNOWN_COLOR, label="not tested"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8,
               frameon=False)
    return fig
