"""`python -m dockernet ...` run as a learner or instructor would: subprocesses, real daemon.

Fixtures `client`, `lab_image`, `learner` and `other_learner` come from tests/conftest.py: with no
daemon these tests fail with the diagnosis, they are not skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import dockernet as dn
import nbformat
import pytest
from dockernet import image
from dockernet.cleanup import lab_objects
from dockernet.cli import SOLUTION_PLACEHOLDER
from dockernet.naming import LEARNER, LESSON

ROOT = Path(__file__).resolve().parents[2]
LESSON_ID = "01-default-bridge"


def run_cli(*args: str, learner: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """``python -m dockernet ARGS`` in a fresh process; ``learner`` sets DOCKERNET_LEARNER."""
    environment = {**os.environ, **env}
    if learner:
        environment["DOCKERNET_LEARNER"] = learner
    return subprocess.run([sys.executable, "-m", "dockernet", *args], capture_output=True,
                          text=True, env=environment, cwd=ROOT, timeout=300)


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


# -- doctor ---------------------------------------------------------------------------------


def test_doctor_exits_0_names_the_engine_and_leaves_no_probe_behind(client, lab_image, learner):
    result = run_cli("doctor", learner=learner)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert client.version()["Version"] in result.stdout
    assert "macvlan works" in result.stdout and "firewall backend" in result.stdout
    assert "Which lessons run fully here" in result.stdout
    assert not any(lab_objects(client, learner=learner).values())


def test_doctor_json_agrees_with_the_daemon(client, lab_image, learner):
    result = run_cli("doctor", "--json", learner=learner)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    version, info = client.version(), client.info()
    assert report["engine_version"] == version["Version"]
    assert report["api_version"] == version["ApiVersion"]
    assert report["storage_driver"] == info["Driver"]
    assert report["swarm_state"] == info["Swarm"]["LocalNodeState"]
    assert report["lab_image"] == lab_image and report["lab_image_present"] is True
    # The probes ran: each answer is a real True/False, not "not checked".
    for key in ("macvlan", "ipvlan", "vxlan", "nested_hosts"):
        assert isinstance(report[key], bool), (key, report[key], report["notes"])
    assert [row["lesson"] for row in report["lessons"]] == [f"{n:02d}" for n in range(16)]


def test_doctor_lessons_gives_every_lesson_the_status_the_json_report_gives(client, lab_image,
                                                                           learner):
    table = run_cli("doctor", "--lessons", learner=learner)
    assert table.returncode == 0, table.stderr
    assert_no_traceback(table)
    report = json.loads(run_cli("doctor", "--json", learner=learner).stdout)
    lines = table.stdout.splitlines()
    assert client.version()["Version"] in lines[0] and "run fully" in lines[0]
    statuses = {line[:2]: line for line in lines[2:] if line[:2].isdigit()}
    assert sorted(statuses) == [row["lesson"] for row in report["lessons"]]
    for row in report["lessons"]:
        assert f"  {row['status']}" in statuses[row["lesson"]], (row, statuses[row["lesson"]])
        assert row["status"] in ("runs fully", "degrades", "cannot")
    assert not any(lab_objects(client, learner=learner).values())


def test_doctor_quiet_prints_one_line(client, learner):
    result = run_cli("doctor", "--quiet", learner=learner)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and client.version()["Version"] in lines[0] and "ready" in lines[0]


def test_doctor_without_a_daemon_exits_1_with_the_fix_and_no_traceback():
    result = run_cli("doctor", DOCKER_HOST="unix:///nonexistent.sock")
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "/nonexistent.sock" in result.stderr and "Fix:" in result.stderr
    assert result.stdout == ""


# -- clean ----------------------------------------------------------------------------------


@pytest.fixture
def lookalike(client, lab_image, learner):
    """A running container the lab did NOT create, named and half-labelled like a lab one."""
    container = client.containers.run(
        lab_image, ["sleep", "300"], detach=True, name=f"dn-{learner}-01-helloworld2",
        labels={LEARNER: learner, LESSON: LESSON_ID})  # no dockernet.lab label: not ours
    yield container
    container.remove(force=True)


@pytest.fixture
def hd_lookalike(client, lab_image):
    """The brief's example: an unlabelled container called like a lab container."""
    container = client.containers.create(lab_image, ["sleep", "300"],
                                         name="dn-hD-test-01-helloworld")
    yield container
    container.remove(force=True)


def test_clean_removes_labelled_objects_and_nothing_else(client, lab_image, learner, lookalike,
                                                         hd_lookalike):
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    labelled = lab.run("helloworld")
    network = lab.network("my-net")
    result = run_cli("clean", "--learner", learner)
    assert result.returncode == 0, result.stderr
    assert "helloworld" in result.stdout and "my-net" in result.stdout
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(labelled.id)
    with pytest.raises(docker.errors.NotFound):
        client.networks.get(network.id)
    lookalike.reload()
    assert lookalike.status == "running"
    assert client.containers.get(hd_lookalike.id).name == "dn-hD-test-01-helloworld"


def test_clean_defaults_to_the_current_learner_only(client, lab_image, learner, other_learner):
    mine = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True).run("web")
    theirs = dn.Lab(LESSON_ID, learner=other_learner, client=client, quiet=True).run("web")
    result = run_cli("clean", learner=learner)
    assert result.returncode == 0, result.stderr
    assert repr(learner) in result.stdout
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(mine.id)
    assert client.containers.get(theirs.id).status == "running"


def test_clean_lesson_limits_to_that_lesson(client, lab_image, learner):
    in_01 = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True).run("web")
    in_02 = dn.Lab("02-user-defined-bridge", learner=learner, client=client, quiet=True).run("web")
    result = run_cli("clean", "--lesson", "02-user-defined-bridge", learner=learner)
    assert result.returncode == 0, result.stderr
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(in_02.id)
    assert client.containers.get(in_01.id).status == "running"


def test_clean_with_a_bad_lesson_id_explains_and_removes_nothing(client, lab_image, learner):
    kept = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True).run("web")
    result = run_cli("clean", "--lesson", "Bad Lesson", learner=learner)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "lesson 'Bad Lesson' is not usable" in result.stderr
    assert client.containers.get(kept.id).status == "running"


def test_clean_refuses_learner_and_all_learners_together():
    result = run_cli("clean", "--learner", "x", "--all-learners")
    assert result.returncode == 2 and "not allowed with" in result.stderr


# -- image and bundle -----------------------------------------------------------------------


def test_image_reuses_the_present_image_without_pulling(lab_image):
    result = run_cli("image", "--no-pull")
    assert result.returncode == 0, result.stderr
    assert "present: reusing it" in result.stdout and lab_image in result.stdout


def test_bundle_then_load_round_trips(client, lab_image, tmp_path):
    bundle = tmp_path / "dockernet-lab.tar.gz"
    written = run_cli("bundle", str(bundle))
    assert written.returncode == 0, written.stderr
    assert bundle.stat().st_size > 10_000_000
    loaded = run_cli("image", "--load", str(bundle))
    assert loaded.returncode == 0, loaded.stderr
    assert f"loaded {lab_image}" in loaded.stdout
    assert image.find(client) is not None


def test_loading_a_missing_bundle_exits_1_with_the_fix(client):
    result = run_cli("image", "--load", "/nonexistent/dockernet-lab.tar.gz")
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "No bundle at /nonexistent/dockernet-lab.tar.gz" in result.stderr


# -- student-copy ---------------------------------------------------------------------------


def test_student_copy_empties_solution_cells_only(tmp_path):
    solution = nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]},
                                         outputs=[nbformat.v4.new_output("stream", text="42")])
    task = nbformat.v4.new_code_cell("answer = None\n# your code here")
    check = nbformat.v4.new_code_cell("check(answer)", metadata={"tags": ["check"]})
    prose = nbformat.v4.new_markdown_cell("Find the answer.")
    source_dir, target_dir = tmp_path / "notebooks", tmp_path / "student"
    source_dir.mkdir()
    original = source_dir / "99-example.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[prose, task, solution, check]), str(original))
    before = original.read_text()

    result = run_cli("student-copy", str(source_dir), str(target_dir))
    assert result.returncode == 0, result.stderr
    copy = nbformat.read(str(target_dir / "99-example.ipynb"), as_version=4)
    assert [cell.source for cell in copy.cells] == [
        "Find the answer.", "answer = None\n# your code here", SOLUTION_PLACEHOLDER,
        "check(answer)"]
    assert copy.cells[2].outputs == [] and copy.cells[2].metadata["tags"] == ["solution"]
    assert original.read_text() == before  # the source notebook is untouched


def test_student_copy_of_lesson_00(tmp_path):
    lesson = ROOT / "notebooks" / "00-check-setup.ipynb"
    original = nbformat.read(str(lesson), as_version=4)
    solutions = [c for c in original.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions, "lesson 00 has solution cells"
    result = run_cli("student-copy", str(lesson), str(tmp_path))
    assert result.returncode == 0, result.stderr
    copy = nbformat.read(str(tmp_path / lesson.name), as_version=4)
    emptied = [c for c in copy.cells if "solution" in c.metadata.get("tags", [])]
    assert [c.source for c in emptied] == [SOLUTION_PLACEHOLDER] * len(solutions)
    assert len(copy.cells) == len(original.cells)


def test_student_copy_of_a_missing_folder_exits_1(tmp_path):
    result = run_cli("student-copy", str(tmp_path / "nope"), str(tmp_path / "out"))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "does not exist" in result.stderr


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("doctor", "clean", "image", "bundle", "student-copy"):
        assert command in result.stdout
