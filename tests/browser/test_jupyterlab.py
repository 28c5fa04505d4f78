"""Every lesson in JupyterLab in a real browser: "Restart Kernel and Run All", then look.

JupyterLab starts the way ``make lab`` starts it, for a fresh learner id; Playwright drives
Debian's chromium. Each lesson must run every code cell with no error output, show every
figure as an image and every widget as a live ipywidgets view. Screenshots of the whole
notebook land in tests/browser/screenshots/ (git-ignored).

Without /usr/bin/chromium or playwright the test is skipped on a developer's machine, and
fails under CI=true: CI must run it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from labdriver import CHROMIUM, ROOT, launch_chromium, run_notebook
from labserver import JupyterLab, file_digest

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))


def _cannot_run(reason: str):
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the browser test, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, once for every lesson."""
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
    """``jupyter lab --notebook-dir=notebooks`` whose kernels run as a fresh learner."""
    with JupyterLab(NOTEBOOK_DIR, env={"DOCKERNET_LEARNER": learner}) as lab:
        yield lab


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_runs_all_in_jupyterlab(path, browser, jupyterlab):
    committed = file_digest(path)
    report = run_notebook(browser, jupyterlab, path.name)
    if report.problems:
        pytest.fail(f"{path.name} in JupyterLab after {report.seconds:.0f} s (screenshot: "
                    f"{report.screenshot}):\n  " + "\n  ".join(report.problems), pytrace=False)
    assert report.dialogs in ([], ["Restart Kernel?"]), f"unexpected dialogs: {report.dialogs}"
    assert file_digest(path) == committed, f"JupyterLab wrote into {path}: autosave must be off"


def test_lessons_are_found():
    assert len(NOTEBOOKS) >= 3, f"no lesson notebooks in {NOTEBOOK_DIR}"
