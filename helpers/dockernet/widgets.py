"""ipywidgets playgrounds: try probes by hand, on the lab's own containers only.

Every choice comes from the daemon (the lab's containers, their names and the
addresses Docker gave them), so a playground never sends traffic anywhere the
lab did not create. Widgets build fine without a browser: a notebook run
headless shows them as text and never blocks.

>>> import dockernet as dn
>>> from dockernet import widgets
>>> lab = dn.Lab("02-user-defined-bridge", quiet=True)
>>> _ = lab.hello_server("helloworld")
>>> widgets.probe_playground(lab)                   # doctest: +ELLIPSIS
VBox(children=(HBox(children=(Dropdown(description='from', ...
"""

from __future__ import annotations

import ipywidgets as w
from IPython.display import display

from . import tables

PROBES = ("curl", "ping", "lookup")


def probe_targets(lab) -> list[tuple[str, str]]:
    """``(label, target)`` choices: each container's name, then each of its addresses.

    >>> helloworld = lab.run("helloworld")
    >>> targets = probe_targets(lab)
    >>> targets[0]
    ('helloworld (name)', 'helloworld')
    >>> targets[1] == (f"helloworld on bridge: {lab.ip('helloworld')}", lab.ip("helloworld"))
    True
    """
    endpoints = tables.endpoints(lab)
    choices = []
    for container in sorted(endpoints["container"].unique()):
        choices.append((f"{container} (name)", container))
        mine = endpoints[(endpoints["container"] == container) & endpoints["ipv4"].notna()]
        choices += [(f"{container} on {row.network}: {row.ipv4}", row.ipv4)
                    for row in mine.itertuples()]
    return choices


def run_probe(lab, source: str, target: str, kind: str = "curl", port: int = 8000,
              timeout: float = 2):
    """One probe, as the playground's button runs it.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        source (str): the container the probe runs in.
        target (str): a container name or an address the daemon reported.
        kind (str): ``"curl"`` (``http://TARGET:PORT``), ``"ping"`` or ``"lookup"``.
        port (int): for curl.
        timeout (float): seconds, enforced inside the container.

    Returns:
        dockernet.ProbeResult
    """
    if kind == "curl":
        return lab.curl(source, f"http://{target}:{port}", timeout=timeout)
    if kind == "ping":
        return lab.ping(source, target, timeout=timeout)
    if kind == "lookup":
        return lab.lookup(source, target, timeout=timeout)
    raise ValueError(f"kind={kind!r}: use one of {', '.join(PROBES)}.")


def probe_playground(lab, port: int = 8000, timeout: float = 2) -> w.VBox:
    """Dropdowns for source, target, probe and port, and a button that runs the probe.

    The choices are read when the playground is built: after you create or
    connect containers, run the cell again to see them.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        port (int): the port curl starts with (the hello servers' 8000).
        timeout (float): seconds per probe (a dropped packet costs all of it).

    Returns:
        ipywidgets.VBox: display it (a cell's last value is displayed).
    """
    sources = [lab.short_name(c) for c in lab.containers()]
    source = w.Dropdown(options=sources, description="from")
    target = w.Dropdown(options=probe_targets(lab), description="to")
    kind = w.ToggleButtons(options=PROBES, value="curl", description="probe")
    port_box = w.BoundedIntText(value=port, min=1, max=65535, description="port",
                                layout=w.Layout(width="160px"))
    button = w.Button(description="Run", button_style="primary", icon="play")
    output = w.Output()

    def on_click(_button):
        with output:
            output.clear_output()
            if not source.value or not target.value:
                print("No container yet: create some, then run this cell again.")
                return
            display(run_probe(lab, source.value, target.value, kind.value, port_box.value,
                              timeout))

    button.on_click(on_click)
    return w.VBox([w.HBox([source, target]), w.HBox([kind, port_box]), button, output])
