"""The lesson conventions of lessons/README.md, checked where a test can check them.

Each test names the convention it holds; lessons/README.md says why each exists.
"""

import re
from pathlib import Path

import jupytext
import pytest
from dockernet import lab as lab_module

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
IDS = [p.stem for p in SOURCES]
MAX_TEACHING_LINES = 5
MAX_SETUP_LINES = 8
MAX_SOLUTION_LINES = 8
MINUTES = re.compile(r"\*\*Minutes:\*\* (\d+) teaching \+ (\d+) exercises")
SELF_CHECK = re.compile(r"^lesson\d\d\.\w+\(")
#: Lessons whose cells read the Docker host itself: they need an "Other engines" callout.
HOST_READERS = re.compile(r"\b(hostview|firewall|outside)\.")


def cells(source):
    return jupytext.read(source).cells


def code_lines(cell) -> list[str]:
    return [line for line in cell.source.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def exercises(source):
    """``[(title, [cells])]`` for every ``### Exercise`` block of the lesson."""
    blocks, current = [], None
    for cell in cells(source):
        if cell.cell_type == "markdown" and cell.source.startswith("## ") and current:
            blocks.append(current)
            current = None
        heading = cell.source.startswith("### Exercise") if cell.cell_type == "markdown" else False
        if heading:
            if current:
                blocks.append(current)
            current = (cell.source.splitlines()[0], [cell])
        elif current:
            current[1].append(cell)
    if current:
        blocks.append(current)
    return blocks


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_teaching_cells_are_short(source):
    code = [c for c in cells(source) if c.cell_type == "code"]
    too_long = []
    for number, cell in enumerate(code):
        limit = (MAX_SETUP_LINES if number == 0 else
                 MAX_SOLUTION_LINES if "solution" in tags(cell) else MAX_TEACHING_LINES)
        if len(code_lines(cell)) > limit:
            too_long.append(f"code cell {number + 1} ({len(code_lines(cell))} lines > {limit}): "
                            f"{cell.source.splitlines()[0]!r}")
    assert not too_long, "split these cells or move the checks into claim helpers:\n" + \
        "\n".join(too_long)


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_claims_live_in_claim_helpers_not_in_lesson_cells(source):
    asserting = [c.source.splitlines()[0] for c in cells(source)
                 if c.cell_type == "code" and re.search(r"^\s*assert\b", c.source, re.M)]
    assert not asserting, f"move these asserts into dockernet.checks claim helpers: {asserting}"


@pytest.mark.parametrize("source", [s for s in SOURCES if s.name[:2] != "00"],
                         ids=[i for i in IDS if i[:2] != "00"])
def test_learners_predict_before_key_experiments(source):
    prompts = source.read_text(encoding="utf-8").count("**Predict first:**")
    assert prompts >= 2, f"{source.name} has {prompts} 'Predict first' prompts; at least 2"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_exercises_run_task_learner_cell_self_check_then_hidden_solution(source):
    blocks = exercises(source)
    assert blocks, f"{source.name} has no exercises"
    for title, block in blocks:
        kinds = []
        for cell in block:
            if cell.cell_type == "markdown":
                kinds.append("task" if not kinds else "text")
            elif "solution" in tags(cell):
                kinds.append("solution")
                assert cell.metadata.get("jupyter", {}).get("source_hidden"), \
                    f"{title}: collapse the solution (jupyter.source_hidden)"
                assert re.search(r"lesson\d\d\.\w+\(.*\)\.require\(\)", cell.source), \
                    f"{title}: end the solution with the self-check's .require()"
            elif "# your code here" in cell.source:
                kinds.append("learner")
            elif SELF_CHECK.match(cell.source.strip()):
                kinds.append("check")
            else:
                kinds.append("other")
        assert kinds == ["task", "learner", "check", "solution"], f"{title}: {kinds}"
        assert "lab." in block[0].source, f"{title}: the task must say to use lab.*"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_lessons_that_read_the_host_say_what_other_engines_show(source):
    code = "\n".join(c.source for c in cells(source) if c.cell_type == "code")
    if HOST_READERS.search(code):
        assert "> **Other engines.**" in source.read_text(encoding="utf-8"), \
            f"{source.name} reads the host: add a '> **Other engines.** ...' callout"


def test_lesson_00_lists_every_flag_the_lab_adds_to_docker_run():
    text = (ROOT / "lessons" / "00-check-setup.md").read_text(encoding="utf-8")
    missing = [flag for flag in lab_module.LAB_RUN_FLAGS if f"`{flag.split()[0]}" not in text]
    assert not missing, f"lesson 00 must list every flag the lab adds: {missing}"


def _minutes_in_table(path: Path) -> dict[str, str]:
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells_ = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells_) >= 3 and re.fullmatch(r"\d\d", cells_[0]):
            found = [c for c in cells_ if re.fullmatch(r"\d+ \+ \d+", c)]
            if found:
                rows[cells_[0]] = found[0]
    return rows


def test_minutes_agree_in_the_header_the_readme_and_the_syllabus():
    headers = {}
    for source in SOURCES:
        match = MINUTES.search(source.read_text(encoding="utf-8"))
        assert match, f"{source.name}: write '**Minutes:** N teaching + M exercises'"
        headers[source.name[:2]] = f"{match.group(1)} + {match.group(2)}"
    readme = _minutes_in_table(ROOT / "README.md")
    syllabus = _minutes_in_table(ROOT / "lessons" / "README.md")
    assert {k: readme.get(k) for k in headers} == headers, "README's minutes disagree"
    assert {k: syllabus.get(k) for k in headers} == headers, "lessons/README.md's minutes disagree"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_instructor_page_timings_add_up_to_the_teaching_minutes(source):
    page = ROOT / "lessons" / "instructors" / source.name
    assert page.is_file(), f"add the instructor page lessons/instructors/{source.name}"
    teaching = int(MINUTES.search(source.read_text(encoding="utf-8")).group(1))
    text = page.read_text(encoding="utf-8")
    timings = [int(m) for m in re.findall(r"^\|[^|\n]+\|\s*(\d+)\s*\|", text, re.M)]
    assert sum(timings) == teaching, \
        f"{page.name}: section timings add up to {sum(timings)}, the lesson says {teaching}"
    for heading in ("## Timings", "## Skip if late", "## Common questions"):
        assert heading in text, f"{page.name} lacks {heading!r}"


def test_no_lesson_mentions_the_seed():
    for source in SOURCES:
        assert not re.search(r"\bseed\b", source.read_text(encoding="utf-8"), re.I), source.name
