"""The playgrounds of lessons 02, 08 and 11 in JupyterLab: move every widget, watch it change.

Each lesson runs up to its playground cell in a real browser (labserver.py, Debian's
chromium under Playwright, as test_jupyterlab.py). Then the test moves each control
(driver, subnet size, number of networks and containers, a membership tick box), presses
**Apply**, and reads from the page, not from a picture, that what is shown changed: the
status line, the endpoints table's rows and the images. Bad input must show its error next
to the button and leave the table as it was. A screenshot of each playground lands in
tests/browser/screenshots/<lesson>-playground.png.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from labdriver import _FIND_PANEL, CHROMIUM, ROOT, SCREENSHOTS, launch_chromium
from labserver import JupyterLab, file_digest

NOTEBOOK_DIR = ROOT / "notebooks"
LESSONS = ["02-user-defined-bridge", "08-macvlan-ipvlan", "11-isolation-filtering"]
#: Running a lesson up to its playground on a busy 2-core machine.
RUN_TIMEOUT_S = 600
APPLY_TIMEOUT_S = 180


def _cannot_run(reason: str):
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the browser test, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _cannot_run(f"no {CHROMIUM}: install Debian's chromium (`sudo apt-get install chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _cannot_run("playwright is not installed: run `.venv/bin/pip install -e '.[test]'`")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def jupyterlab(client, lab_image, learner):
    with JupyterLab(NOTEBOOK_DIR, env={"DOCKERNET_LEARNER": learner}) as lab:
        yield lab


# Runs every cell above the one after the playground, i.e. up to and including it.
_RUN_TO_PLAYGROUND = """() => {
  const panel = window.__panel, model = panel.content.model;
  let index = -1;
  for (let i = 0; i < model.cells.length; i++) {
    if (model.cells.get(i).sharedModel.getSource().includes('network_playground(')) index = i;
  }
  if (index < 0) return -1;
  panel.content.activeCellIndex = index + 1;
  window.jupyterapp.commands.execute('notebook:run-all-above')
    .catch(error => { window.__runError = String(error); });
  return index;
}"""
_CELL = """(index) => {
  const panel = window.__panel, cell = panel.content.model.cells.get(index);
  const kernel = panel.sessionContext.session?.kernel;
  const errors = [];
  for (let i = 0; i <= index; i++) {
    const c = panel.content.model.cells.get(i);
    if (c.type !== 'code') continue;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') errors.push(`cell ${i + 1}: ${o.ename}: ${o.evalue}`);
    }
  }
  return {count: cell.executionCount, status: kernel ? kernel.status : 'none', errors};
}"""
_VIEW = """() => {
  const text = (sel) => { const n = document.querySelector(sel); return n ? n.innerText.trim() : null; };
  const img = (sel) => { const n = document.querySelector(sel + ' img'); return n ? n.src : null; };
  const rows = [...document.querySelectorAll('.dn-pg-table table tbody tr')].map(r => r.innerText);
  return {status: text('.dn-pg-status'), error: text('.dn-pg-error'), rows,
          plot: img('.dn-pg-plot'), matrix: img('.dn-pg-matrix'),
          ticks: document.querySelectorAll('.dn-pg-grid input[type=checkbox]').length,
          applying: !!document.querySelector('button.dn-pg-apply:disabled')};
}"""


def _dismiss_dialogs(page) -> None:
    """Accept any JupyterLab dialog (on a busy machine: "Error Loading Theme", a slow
    stylesheet); it would sit over the widgets and take their clicks."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        try:
            dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click(timeout=5_000)
        except Exception:  # noqa: BLE001 - it closed meanwhile; the next turn looks again
            pass


#: The options' labels; ipywidgets writes their spaces as no-break spaces.
_OPTIONS = "s => [...s.options].map(o => o.text.replace(/\\u00a0/g, ' '))"


def _wait(page, condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _dismiss_dialogs(page)
        value = condition()
        if value:
            return value
        page.wait_for_timeout(250)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


def _open_and_run_to_playground(page, lab: JupyterLab, name: str) -> int:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate("() => window.jupyterapp.restored")
    _wait(page, lambda: page.evaluate(_FIND_PANEL, name), 60, f"JupyterLab to open {name}")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    _wait(page, lambda: page.evaluate(_CELL, 0)["status"] == "idle", 60, "the kernel to start")
    index = page.evaluate(_RUN_TO_PLAYGROUND)
    assert index >= 0, f"{name} has no playground cell"

    def done():
        cell = page.evaluate(_CELL, index)
        assert not cell["errors"], f"{name}: {cell['errors']}"
        return cell["count"] is not None and cell["status"] == "idle"

    _wait(page, done, RUN_TIMEOUT_S, f"{name} to run up to its playground")
    _wait(page, lambda: (page.evaluate(_VIEW)["status"] or "").find("matrix") >= 0
          and page.evaluate(_VIEW)["rows"], 60, "the playground to show its first topology")
    return index


def _apply(page, before: dict) -> dict:
    """Press Apply and wait for a new picture or an error; return what the page shows."""
    _dismiss_dialogs(page)
    page.locator("button.dn-pg-apply").click()

    def settled():
        view = page.evaluate(_VIEW)
        if view["applying"] or "building" in (view["status"] or ""):
            return None
        changed = view["status"] != before["status"] or view["error"] != before["error"]
        return view if changed else None

    _wait(page, settled, APPLY_TIMEOUT_S, "Apply to finish")
    page.wait_for_timeout(500)  # the pictures were sent before the status: let them render
    return page.evaluate(_VIEW)


def _select(page, control: str, label_start: str) -> None:
    _dismiss_dialogs(page)
    select = page.locator(f".dn-pg-{control} select")
    labels = select.evaluate(_OPTIONS)
    label = next(text for text in labels if text.startswith(label_start))
    select.select_option(index=labels.index(label))


def _changed(before: dict, after: dict, what: str) -> None:
    assert not after["error"], f"{what}: refused: {after['error']}"
    assert after["status"] != before["status"], f"{what}: the status did not change"
    assert after["rows"] != before["rows"] or after["plot"] != before["plot"], \
        f"{what}: neither the table nor the topology changed"


def _refused(page, before: dict, says: str, what: str) -> dict:
    after = _apply(page, before)
    assert says in (after["error"] or ""), f"{what}: expected {says!r}, got {after['error']!r}"
    assert after["rows"] == before["rows"], f"{what}: the table changed after bad input"
    assert after["status"] == before["status"]
    return after


@pytest.mark.parametrize("stem", LESSONS)
def test_every_playground_control_changes_the_picture(stem, browser, jupyterlab):
    path = NOTEBOOK_DIR / f"{stem}.ipynb"
    committed = file_digest(path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        index = _open_and_run_to_playground(page, jupyterlab, path.name)
        view = page.evaluate(_VIEW)
        assert "3 containers" in view["status"] and view["ticks"] == 6, view

        # The driver: another one this engine builds, else the greyed one must explain itself.
        options = page.locator(".dn-pg-driver select").evaluate(_OPTIONS)
        current = page.locator(".dn-pg-driver select").evaluate(
            "s => s.selectedOptions[0].text.replace(/\\u00a0/g, ' ')")
        other = next(text for text in options if text != current)
        _select(page, "driver", other)
        if "(not here)" in other:
            view = _refused(page, view, "not available here", "a greyed driver")
            _select(page, "driver", current)
        else:
            after = _apply(page, view)
            _changed(view, after, "driver")
            assert other.split(":")[0] in after["status"]
            view = after

        _select(page, "prefix", "/27")
        after = _apply(page, view)
        _changed(view, after, "subnet size")
        assert all("\t27\t" in row or " 27 " in row for row in after["rows"]), after["rows"]
        view = after

        _select(page, "containers", "4")
        after = _apply(page, view)
        _changed(view, after, "containers")
        assert "4 containers" in after["status"] and "4 × 4 matrix" in after["status"]
        assert after["matrix"] != view["matrix"]
        view = after

        _select(page, "networks", "3")
        _wait(page, lambda: page.evaluate(_VIEW)["ticks"] == 12, 10, "a grid of 4 × 3")
        after = _apply(page, view)
        _changed(view, after, "networks")
        assert "3 networks" in after["status"]
        view = after

        # Memberships: pg-c1 also joins the last network: one more endpoint.
        page.locator(".dn-pg-grid input[type=checkbox]").nth(2).check()
        after = _apply(page, view)
        _changed(view, after, "membership")
        assert len(after["rows"]) == len(view["rows"]) + 1, (view["rows"], after["rows"])
        view = after

        # Bad input: each shows its error beside the button and changes nothing.
        _select(page, "networks", "0")
        view = _refused(page, view, "zero networks", "zero networks")
        _select(page, "networks", "3")
        _wait(page, lambda: page.evaluate(_VIEW)["ticks"] == 12, 10, "the grid back")
        for box in range(3):  # pg-c1 on no network
            page.locator(".dn-pg-grid input[type=checkbox]").nth(box).uncheck()
        view = _refused(page, view, "pg-c1 is on no network", "a container on no network")
        page.locator(".dn-pg-grid input[type=checkbox]").nth(0).check()
        _select(page, "prefix", "/30")
        _refused(page, view, "a /30 subnet holds 1 container address", "a subnet too small")

        page.set_viewport_size({"width": 1280, "height": 2400})  # the whole playground
        cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        cell.screenshot(path=str(SCREENSHOTS / f"{stem}-playground.png"))
    finally:
        context.close()
    assert file_digest(path) == committed, f"JupyterLab wrote into {path}: autosave must be off"
