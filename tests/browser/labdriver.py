"""Run lesson notebooks in JupyterLab in a real browser (Playwright + Debian's chromium).

    python tests/browser/labdriver.py [--notebook-dir DIR] [NOTEBOOK ...]

Starts ``jupyter lab`` the way ``make lab`` does (see labserver.py), opens each
notebook in a fresh workspace, runs "Restart Kernel and Run All" and reports
what the browser shows. The pytest test in this folder asserts on that report;
the command line prints it, e.g. to try a scratch copy of a notebook (set
``DOCKERNET_LEARNER``: the kernels inherit the environment).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dockernet import plots
from dockernet.checks import FAILED_MARK
from labserver import JupyterLab

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps calling Google's services, which a
# closed network refuses many connections at a time.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIGURE_FUNCTIONS = sorted(name for name, function in inspect.getmembers(plots, inspect.isfunction)
                          if not name.startswith("_") and function.__module__ == plots.__name__
                          and "Figure" in str(inspect.signature(function).return_annotation))
_FIGURE_CALL = re.compile(r"\bplots\.(" + "|".join(FIGURE_FUNCTIONS) + r")\(")
_WIDGET_CALL = re.compile(r"\bwidgets\.\w+\(")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def figure_calls(source: str) -> int:
    """How many figures a cell's source draws with ``dockernet.plots``.

    >>> figure_calls('display(plots.reachability(a), plots.reachability(b))')
    2
    >>> figure_calls('layout = plots.subnet_layout(nets, eps)  # a layout, not a figure')
    0
    """
    return len(_FIGURE_CALL.findall(source))


def launch_chromium(playwright):
    """Debian's chromium under Playwright (Playwright's own browser downloads are never used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class RunReport:
    """What the browser showed after "Restart Kernel and Run All" on one notebook."""

    notebook: str
    seconds: float = 0.0
    dialogs: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    screenshot: Path | None = None
    images: int = 0
    widgets: int = 0


def _describe(cell: dict) -> str:
    first = next((line for line in cell["source"].splitlines() if line.strip()), "")
    return f"cell {cell['index'] + 1} ({first.strip()[:70]!r})"


# JavaScript run in the page. The panel is the notebook's NotebookPanel in JupyterLab's shell.
_FIND_PANEL = """async (path) => {
  const app = window.jupyterapp;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path) {
      window.__panel = widget;
      app.shell.activateById(widget.id);
      await widget.context.ready;
      await widget.sessionContext.ready;
      return true;
    }
  }
  return false;
}"""
_STATE = """() => {
  const panel = window.__panel, kernel = panel.sessionContext.session?.kernel;
  const model = panel.content.model, cells = [];
  const nodes = document.querySelectorAll('.jp-Notebook .jp-Cell');
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const errors = [], mimes = [], node = nodes[i];
    for (let j = 0; j < cell.outputs.length; j++) {
      const output = cell.outputs.get(j).toJSON();
      if (output.output_type === 'error') errors.push(`${output.ename}: ${output.evalue}`);
      if (output.data) mimes.push(...Object.keys(output.data));
    }
    const area = node ? node.querySelector('.jp-OutputArea') : null;
    const images = area ? [...area.querySelectorAll('img')] : [];
    const widgets = area ? [...area.querySelectorAll('.jupyter-widgets')] : [];
    cells.push({index: i, count: cell.executionCount, source: cell.sharedModel.getSource(),
                tags: cell.getMetadata('tags') || [], errors, mimes,
                images: images.filter(img => img.complete && img.naturalWidth > 0).length,
                widgets: widgets.length,
                controls: area ? area.querySelectorAll(
                  '.jupyter-widgets select option, .jupyter-widgets button').length : 0,
                text: area ? area.innerText : ''});
  }
  return {status: kernel ? kernel.status : 'no kernel', cellsInModel: model.cells.length,
          cellsInPage: nodes.length, cells};
}"""


def _wants_widget(cell: dict) -> bool:
    """The cell displays a widget, or calls ``dockernet.widgets`` and so should."""
    return WIDGET_MIME in cell["mimes"] or bool(_WIDGET_CALL.search(cell["source"]))


#: True once every cell that ran shows its figures (wanted[i][0]) and its widget (wanted[i][1]).
_SHOWN = f"""(wanted) => ({_STATE})().cells.every(c => !wanted[c.index] ||
  (c.images >= wanted[c.index][0] && (!wanted[c.index][1] || c.controls > 0)))"""


def _cell_problems(cell: dict) -> list[str]:
    """What is wrong with one code cell as the page shows it (empty when all is well)."""
    where = _describe(cell)
    if cell["count"] is None:
        return [f"{where} did not run"]
    problems = [f"{where} raised {error}" for error in cell["errors"]]
    wanted = figure_calls(cell["source"])
    if cell["images"] < wanted:
        problems.append(f"{where} draws {wanted} figure(s) but the page shows {cell['images']} image(s)")
    if _wants_widget(cell):
        if "Loading widget" in cell["text"] or "Error displaying widget" in cell["text"]:
            problems.append(f"{where}: the widget did not render: {cell['text'][:120]!r}")
        elif not cell["widgets"] or not cell["controls"]:
            problems.append(f"{where}: no ipywidgets view with controls in the page, only "
                            f"{cell['text'][:120]!r}")
    return problems


def _check_problems(cells: list[dict]) -> list[str]:
    """A self-check may say "not yet" only right before its solution (the learner's cell is
    still empty when Run All reaches it); anywhere else a red cross is a broken lesson."""
    return [f"{_describe(cell)}: a self-check failed and no solution follows it"
            for cell, after in zip(cells, [*cells[1:], None])
            if FAILED_MARK in cell["text"] and not (after and "solution" in after["tags"])]


def _problems(cells: list[dict]) -> list[str]:
    """Every cell's problems; after a cell that raised, one line for the cells Run All skipped."""
    failed = next((i for i, cell in enumerate(cells) if cell["errors"]), len(cells))
    problems = [problem for cell in cells[:failed + 1] for problem in _cell_problems(cell)]
    problems += _check_problems(cells[:failed + 1])
    skipped = [cell for cell in cells[failed + 1:] if cell["count"] is None]
    if skipped:
        problems.append(f"{len(skipped)} later code cells did not run: Run All stops at an error")
    return problems


def _settled(state: dict) -> bool:
    """The kernel is idle and every code cell ran, or a cell raised (Run All stops there)."""
    cells = state["cells"]
    return state["status"] == "idle" and (all(c["count"] is not None for c in cells)
                                          or any(c["errors"] for c in cells))


def run_notebook(browser, lab: JupyterLab, name: str, timeout: float = 300,
                 screenshot_dir: Path = SCREENSHOTS) -> RunReport:
    """Open ``name`` in a fresh workspace, restart the kernel, run all, and report.

    ``report.problems`` is empty when every code cell ran without an error output, every
    ``dockernet.plots`` figure shows as an image and every widget as a live ipywidgets view.
    """
    report = RunReport(name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        # ?reset: a fresh workspace, or the tabs of an earlier run stay in the page.
        page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        page.evaluate("() => window.jupyterapp.restored")
        # The router opens the notebook a moment after the workspace is restored.
        _wait(page, lambda: page.evaluate(_FIND_PANEL, name), 60, f"JupyterLab to open {name}")
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # a wider notebook to see
        _wait(page, lambda: page.evaluate(_STATE)["status"] == "idle", 60, "the kernel to start")
        start = time.monotonic()
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-run-all')"
                      ".catch(error => { window.__runError = String(error); }); }")
        state = _wait_running(page, report, start + timeout)
        report.seconds = time.monotonic() - start
        if state is None:
            state = page.evaluate(_STATE)
            pending = [c for c in state["cells"] if c["count"] is None]
            where = _describe(pending[0]) if pending else "no cell"
            report.problems.append(f"not done after {timeout:.0f} s (kernel {state['status']}): "
                                   f"{where} did not finish")
            return report
        if state["cellsInPage"] != state["cellsInModel"]:
            report.problems.append(f"{state['cellsInPage']} of {state['cellsInModel']} cells are in "
                                   "the page: windowing is on")
        # Images load and widget views attach a moment after the kernel is done.
        wanted = {cell["index"]: [figure_calls(cell["source"]), _wants_widget(cell)]
                  for cell in state["cells"] if cell["count"] is not None}
        try:
            page.wait_for_function(_SHOWN, arg=wanted, timeout=30_000)
        except Exception:  # noqa: BLE001 - the problems below say what is missing
            pass
        state = page.evaluate(_STATE)
        report.problems += _problems(state["cells"])
        report.images = sum(cell["images"] for cell in state["cells"])
        report.widgets = sum(bool(cell["widgets"]) for cell in state["cells"])
        if page.evaluate("() => window.__runError || null"):
            report.problems.append(f"Restart and Run All failed: {page.evaluate('window.__runError')}")
        return report
    finally:
        report.screenshot = _screenshot(page, screenshot_dir, name)
        context.close()


def _wait(page, condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds:.0f} s for {what}")
        page.wait_for_timeout(250)


def _wait_running(page, report: RunReport, deadline: float) -> dict | None:
    """Accept any dialog (the kernel restart asks), until the run settles; None past the deadline."""
    settled_since = None
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            try:
                report.dialogs.append(dialog.locator(".jp-Dialog-header").inner_text().strip())
                dialog.locator(".jp-Dialog-button.jp-mod-accept").click(timeout=5_000)
            except Exception:  # noqa: BLE001 - it closed meanwhile; the next turn looks again
                pass
        state = page.evaluate(_STATE)
        if _settled(state):
            # Between two cells the kernel is idle for a moment: settled means settled for 1 s.
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since >= 1:
                return state
        else:
            settled_since = None
        page.wait_for_timeout(250)
    return None


def _screenshot(page, folder: Path, name: str) -> Path | None:
    """The whole notebook in one picture: the viewport grows to the notebook's height."""
    try:
        height = page.evaluate("""() => {
          const outer = document.querySelector('.jp-Notebook .jp-WindowedPanel-outer');
          const inner = document.querySelector('.jp-Notebook .jp-WindowedPanel-inner');
          return outer && inner ? inner.scrollHeight + window.innerHeight - outer.clientHeight + 40
                                : window.innerHeight;
        }""")
        page.set_viewport_size({"width": 1280, "height": min(height, 30_000)})
        page.wait_for_timeout(500)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{Path(name).stem}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    except Exception:  # noqa: BLE001 - a missing screenshot must not hide the run's own problems
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="names in the notebook dir (default: all lessons)")
    parser.add_argument("--notebook-dir", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per notebook")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    names = args.notebooks or [p.name for p in sorted(args.notebook_dir.glob("[0-9][0-9]-*.ipynb"))]
    failed = 0
    with JupyterLab(args.notebook_dir.resolve()) as lab, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for name in names:
            report = run_notebook(browser, lab, name, timeout=args.timeout)
            verdict = "ok" if not report.problems else "FAILED"
            print(f"{name}: {verdict} in {report.seconds:.1f} s, {report.images} images, "
                  f"{report.widgets} widget cells, dialogs {report.dialogs}, screenshot {report.screenshot}")
            for problem in report.problems:
                print(f"  {problem}")
            failed += bool(report.problems)
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
