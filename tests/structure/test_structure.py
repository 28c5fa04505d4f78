"""The course's shape: numbering, skeleton, lessons/ and notebooks/ in sync, no outputs."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TITLE = re.compile(r"^# (\d{2}) · (\S.*)$", re.M)
SECTIONS = ["## Learning goals", "## Setup", "## 1. ", "## Exercises", "## Key points", "## Cleanup"]


def test_lessons_are_numbered_from_00_without_gaps():
    numbers = [int(p.name[:2]) for p in SOURCES]
    assert numbers == list(range(len(numbers))), numbers
    assert len(numbers) >= 3


def test_every_source_has_its_notebook_and_back():
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_is_generated_from_its_source(source):
    expected = jupytext.read(source)
    committed = nbformat.read(ROOT / "notebooks" / f"{source.stem}.ipynb", as_version=4)
    assert [(c.cell_type, c.source.strip()) for c in committed.cells] == \
        [(c.cell_type, c.source.strip()) for c in expected.cells], \
        f"notebooks/{source.stem}.ipynb is stale: run `make notebooks`"
    tags = [c.metadata.get("tags", []) for c in committed.cells]
    assert tags == [c.metadata.get("tags", []) for c in expected.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"{path.name} has outputs: regenerate it with `make notebooks`"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_lesson_follows_the_skeleton(source):
    notebook = jupytext.read(source)
    text = source.read_text(encoding="utf-8")
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    code = [c for c in notebook.cells if c.cell_type == "code"]
    title = TITLE.match(markdown[0])
    assert title and title.group(1) == source.name[:2], "first line must be '# NN · Title'"
    assert "**Minutes:**" in text and "**Prerequisites:**" in text
    positions = [text.find("\n" + heading) for heading in SECTIONS]
    assert all(p > 0 for p in positions), dict(zip(SECTIONS, positions))
    assert positions == sorted(positions), "sections out of order: " + " < ".join(SECTIONS)
    assert f'Lab("{source.stem}")' in code[0].source, "the first code cell creates the Lab"
    assert any("solution" in c.metadata.get("tags", []) for c in code), "no solution cells"
    assert "lab.cleanup()" in code[-1].source, "the last code cell cleans up"
    checks = [c for c in code if re.search(r"\blesson\d\d\.\w+\(", c.source)]
    assert checks, "exercises need self-checks from dockernet.checks"


def test_readme_lesson_table_matches_the_notebooks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"\]\(notebooks/(\d{2}-[\w-]+)\.ipynb\)", readme)
    assert listed == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        title = TITLE.match(nbformat.read(path, as_version=4).cells[0].source)
        assert title and f"[{title.group(2).strip()}](notebooks/{path.name})" in readme, \
            f"the README's lesson table misses the title of {path.name}"


def test_no_docstring_example_is_skipped():
    # Examples that need a daemon run against the real one (root conftest.py), never +SKIP.
    skipped = [f"{path.relative_to(ROOT)}:{number}"
               for path in sorted((ROOT / "helpers").rglob("*.py"))
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if "doctest: +SKIP" in line]
    assert not skipped, "run these examples against the daemon instead: " + ", ".join(skipped)
