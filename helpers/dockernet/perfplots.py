"""Lesson 14's plots: every measured value per path, as a box with the values on top.

A box spans the middle half of a path's values (its quartiles) with a line at the median;
the dots are the values themselves (jittered sideways so that they do not hide each
other), so a learner sees the spread, not only a bar. Paths are drawn in the order they
were measured; a path that could not be built here is listed in the title's note.

>>> positions = jitter(5, seed=1)
>>> len(positions), all(-0.2 <= x <= 0.2 for x in positions)
(5, True)
"""

from __future__ import annotations

import inspect
import random

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from . import plots  # noqa: F401 - shows figures inline in notebooks, as the other plots do

PROBE_TITLES = {"ping": "ping (ICMP echo), ms", "tcp": "TCP round trip (1 byte each way), ms"}


def jitter(count: int, width: float = 0.2, seed: int = 0) -> list[float]:
    """Sideways offsets for ``count`` dots of a strip plot (reproducible)."""
    rng = random.Random(seed)
    return [rng.uniform(-width, width) for _ in range(count)]


def _strip_box(ax, frame: pd.DataFrame, value: str, order: list[str]) -> None:
    groups = [frame.loc[frame["path"] == name, value].tolist() for name in order]
    # matplotlib 3.10 renamed vert=False to orientation="horizontal" (3.11 warns on vert).
    sideways = {"orientation": "horizontal"} if "orientation" in \
        inspect.signature(ax.boxplot).parameters else {"vert": False}
    ax.boxplot(groups, **sideways, widths=0.6, showfliers=False,
               medianprops={"color": "#b42318", "linewidth": 2})
    for row, values in enumerate(groups, start=1):
        ys = [row + dy for dy in jitter(len(values), seed=row)]
        ax.scatter(values, ys, s=8, alpha=0.45, color="#1f4e79", linewidths=0)
    ax.set_yticks(range(1, len(order) + 1), order)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)


def latency_figure(frame: pd.DataFrame, note: str = "") -> Figure:
    """Ping and TCP round trips per path (log scale: a busy machine's outliers are long)."""
    probes = [p for p in ("ping", "tcp") if (frame["probe"] == p).any()]
    figure = Figure(figsize=(9, 2.0 + 0.45 * frame["path"].nunique() * len(probes)))
    axes = figure.subplots(len(probes), 1, squeeze=False)[:, 0]
    for ax, probe_name in zip(axes, probes):
        part = frame[frame["probe"] == probe_name]
        _strip_box(ax, part, "ms", list(dict.fromkeys(part["path"])))
        ax.set_xscale("log")
        # 0.05, not 5 × 10⁻²; between the decades only 2 and 5 are labelled, so none overlap.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(
            lambda value, _: f"{value:g}" if f"{value:.0e}"[0] in "25" else ""))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_title(PROBE_TITLES[probe_name], fontsize=10)
    figure.suptitle("Latency per path: every value, box = middle half, red = median"
                    + (f"\n{note}" if note else ""), fontsize=10)
    figure.tight_layout()
    return figure


def throughput_figure(frame: pd.DataFrame, note: str = "") -> Figure:
    """iperf3's 0.2 s interval figures per path, in Gbit/s."""
    order = list(dict.fromkeys(frame["path"]))
    figure = Figure(figsize=(9, 1.6 + 0.5 * len(order)))
    ax = figure.subplots()
    _strip_box(ax, frame, "gbit_s", order)
    ax.set_xlim(left=0)
    ax.set_xlabel("Gbit/s (each dot: 0.2 s of an iperf3 run)")
    figure.suptitle("Throughput per path (iperf3, TCP)" + (f"\n{note}" if note else ""), fontsize=10)
    figure.tight_layout()
    return figure


def missing_note(paths) -> str:
    """The title note naming the paths not measured here."""
    missing = [p.name for p in paths if not p.usable]
    return f"not measured here: {', '.join(missing)}" if missing else ""
