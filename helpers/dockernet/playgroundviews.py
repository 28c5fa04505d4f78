"""The playground's widgets: driver, subnet size, counts, a tick-box grid, and Apply.

:func:`network_playground` shows the controls, builds the default topology once (so a
headless run of the notebook exercises the whole path), and on every **Apply** checks the
choices (:func:`dockernet.playground.plan`) before anything touches Docker: a bad choice
shows its error beside the button and changes nothing, neither on the daemon nor in the
pictures. The pictures are the course's own: ``plots.topology_figure``, the endpoints
table (``tables.endpoints``) and the ``plots.reachability`` heat map.

>>> import dockernet as dn
>>> from dockernet.playgroundviews import network_playground
>>> lab = dn.Lab("11-isolation-filtering", quiet=True)
>>> pg = network_playground(lab, containers=2, networks=1)
>>> pg.status_text()
'bridge · /28 · 1 network · 2 containers · 2 endpoints · 3 nodes in the plot · 2 × 2 matrix, 4 pairs reach'
>>> pg.networks.value = 0
>>> pg.apply() is None, pg.error_text()
(True, '✗ zero networks: a container needs a network to join. Choose 1 to 3 networks.')
"""

from __future__ import annotations

import base64
import html
import ipaddress
import re

import ipywidgets as w
from IPython.core.interactiveshell import InteractiveShell

from . import addressing, plots
from . import playground as pg
from .errors import LabError

ERROR_COLOR = "#b42318"
TABLE_COLUMNS = ["container", "network", "ipv4", "prefix", "gateway", "mac"]


class Playground:
    """The controls and views of one lesson's playground (display it: it is a widget).

    Attributes:
        driver, prefix, networks, containers (ipywidgets.Dropdown): the choices.
        ticks (list of list of ipywidgets.Checkbox): row per container, column per network.
        error, status (ipywidgets.HTML): what went wrong; what is shown now.
        last (dockernet.playground.Plan): the plan the views show.
    """

    def __init__(self, lab, *, containers: int = 3, networks: int = 2, prefix: int = 28,
                 driver: str | None = None):
        self.lab = lab
        self.offered = pg.LESSON_DRIVERS.get(lab.lesson[:2], pg.LESSON_DRIVERS["02"])
        self.unavailable, self.max_networks, note = {}, {}, ""
        if "macvlan" in self.offered:
            limit, why = pg.macvlan_limit(lab, lab.client.version().get("Version"))
            if limit == 0:
                self.unavailable["macvlan"], note = why, f"macvlan is greyed out here: {why}"
            elif limit < pg.MAX_NETWORKS:
                self.max_networks["macvlan"] = limit
                note = f"macvlan: at most {limit} network here (one per parent before Docker 27.0)."
        usable = [key for key in self.offered if key not in self.unavailable]
        driver = driver or usable[0]
        self.driver = w.Dropdown(description="driver", value=driver, options=[
            (pg.DRIVERS[key].label + (" (not here)" if key in self.unavailable else ""), key)
            for key in self.offered], layout=w.Layout(width="440px"))
        self.prefix = w.Dropdown(description="subnet", value=prefix, options=[
            (f"/{p}: {_addresses(addressing.usable_hosts(_net(p)))}", p) for p in pg.PREFIXES])
        self.networks = w.Dropdown(description="networks", options=range(pg.MAX_NETWORKS + 1),
                                   value=min(networks, self.max_networks.get(driver, networks)))
        self.containers = w.Dropdown(description="containers",
                                     options=range(1, pg.MAX_CONTAINERS + 1), value=containers)
        self.apply_button = w.Button(description="Apply", button_style="primary", icon="refresh")
        self.error, self.status = w.HTML(), w.HTML()
        self.note = w.HTML(f"<small>{html.escape(note)}</small>")
        self.grid = w.GridBox()
        self.ticks: list = []
        self.plot_out, self.matrix_out, self.table_out = w.Output(), w.Output(), w.Output()
        for name, widget in (("driver", self.driver), ("prefix", self.prefix),
                             ("networks", self.networks), ("containers", self.containers),
                             ("apply", self.apply_button), ("error", self.error),
                             ("status", self.status), ("grid", self.grid),
                             ("plot", self.plot_out), ("matrix", self.matrix_out),
                             ("table", self.table_out)):
            widget.add_class(f"dn-pg-{name}")  # what the browser test finds them by
        self._build_grid()
        self.networks.observe(lambda _change: self._build_grid(), names="value")
        self.containers.observe(lambda _change: self._build_grid(), names="value")
        self.apply_button.on_click(lambda _button: self.apply())
        self.widget = w.VBox([
            w.HTML("<b>Playground</b>: your networks <code>pg-net…</code> and containers "
                   "<code>pg-c…</code> only; <b>Apply</b> rebuilds them, "
                   "<code>lab.cleanup()</code> removes them."),
            w.HBox([self.driver, self.note]), w.HBox([self.prefix, self.networks, self.containers]),
            self.grid, w.HBox([self.apply_button, self.error]), self.status,
            w.HBox([self.plot_out, self.matrix_out]), self.table_out])
        self.last = None
        self.apply(raise_errors=True)  # the default topology, so a headless run builds one

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _build_grid(self) -> None:
        """One tick box per (container, network); kept where they were, defaults elsewhere."""
        count, nets = self.containers.value, self.networks.value
        default = pg.default_grid(count, nets)
        old = [[box.value for box in row] for row in self.ticks]
        self.ticks = [[w.Checkbox(value=old[i][j] if i < len(old) and j < len(old[i])
                                  else default[i][j], indent=False, layout=w.Layout(width="70px"))
                       for j in range(nets)] for i in range(count)]
        header = [w.HTML("")] + [w.HTML(f"<b>{name}</b>") for name in pg.network_names(nets)]
        cells = header + [cell for name, row in zip(pg.container_names(count), self.ticks)
                          for cell in (w.HTML(name), *row)]
        self.grid.children = cells
        self.grid.layout = w.Layout(grid_template_columns=f"90px repeat({max(nets, 1)}, 80px)")

    def grid_values(self) -> list[list[bool]]:
        return [[box.value for box in row] for row in self.ticks]

    def apply(self, raise_errors: bool = False):
        """Check the choices, then rebuild and redraw; on bad input show why and change nothing.

        Returns:
            dockernet.playground.Plan or None: what was built (None when refused).
        """
        try:
            chosen = pg.plan(self.driver.value, self.prefix.value, self.grid_values(),
                             offered=self.offered, unavailable=self.unavailable,
                             max_networks=self.max_networks)
        except LabError as exc:
            self._fail(exc)
            return None
        self.error.value = ""
        self.apply_button.disabled = True
        shown, self.status.value = self.status.value, "<i>building…</i>"
        try:
            pg.apply(self.lab, chosen)
            table, matrix = pg.views(self.lab, chosen)
        except LabError as exc:  # e.g. the lab's pool is full: Docker refused, say why
            if raise_errors:
                raise
            self.status.value = shown
            self._fail(exc)
            return None
        finally:
            self.apply_button.disabled = False
        self._show(chosen, table, matrix)
        return chosen

    def _fail(self, exc: Exception) -> None:
        self.error.value = f"<span style='color:{ERROR_COLOR}'>✗ {html.escape(str(exc))}</span>"

    def _show(self, chosen, table, matrix) -> None:
        graph = plots.topology_graph(table)
        yes = int(matrix.to_numpy().sum())
        nets = len(chosen.networks)
        pictures = ((self.plot_out, plots.topology_figure(graph, title="The playground's topology")),
                    (self.matrix_out, plots.reachability(matrix, title="Who can ping whom")),
                    (self.table_out, table[TABLE_COLUMNS].reset_index(drop=True)))
        for out, picture in pictures:
            # Set as the widget's state, not captured from a running cell: the same with or
            # without a kernel, and from a button's callback.
            out.outputs = (_display_data(picture),)
        # The status last: when it changes, the pictures are already on their way.
        self.status.value = html.escape(
            f"{chosen.driver} · /{chosen.prefix} · {nets} network{'s' * (nets != 1)} · "
            f"{len(chosen.containers)} container{'s' * (len(chosen.containers) != 1)} · "
            f"{len(table)} endpoints · {graph.number_of_nodes()} nodes in the plot · "
            f"{len(matrix)} × {len(matrix.columns)} matrix, {yes} pairs reach")
        self.last = chosen

    def status_text(self) -> str:
        return html.unescape(self.status.value)

    def error_text(self) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", self.error.value))


def _display_data(thing) -> dict:
    """One ``display_data`` output for an Output widget's state.

    Like ``Output.append_display_data``, but images go base64-encoded, as a kernel's own
    display messages carry them: raw bytes reach the browser as ``[object Object]``.
    """
    data, metadata = InteractiveShell.instance().display_formatter.format(thing)
    data = {mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
            for mime, value in data.items()}
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def _addresses(count: int) -> str:
    return f"{count} container address" + ("es" if count != 1 else "")


def _net(prefix: int):
    return ipaddress.ip_network(f"10.0.0.0/{prefix}")


def network_playground(lab, *, containers: int = 3, networks: int = 2, prefix: int = 28,
                       driver: str | None = None) -> Playground:
    """The lesson's topology playground, built once with the defaults; display it.

    Args:
        lab (dockernet.Lab): the lesson's lab (02, 08 and 11 each offer their drivers,
            :data:`dockernet.playground.LESSON_DRIVERS`).
        containers (int): how many containers to start with (1 to 6).
        networks (int): how many networks (1 to 3).
        prefix (int): the subnets' prefix length (24 to 30).
        driver (str): the first driver (default: the lesson's first that works here).

    Returns:
        Playground: the cell's last value shows it.
    """
    return Playground(lab, containers=containers, networks=networks, prefix=prefix, driver=driver)
