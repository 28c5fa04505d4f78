"""In a notebook, the lab's own errors print as one paragraph: no traceback through docker-py."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run_cells(*sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = NotebookClient(notebook, timeout=60, kernel_name="python3")
    with pytest.raises(CellExecutionError):
        client.execute()
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def test_a_dockernet_error_shows_its_message_and_no_traceback():
    outputs = run_cells("import dockernet as dn",
                        "raise dn.DockerUnavailable('No Docker daemon. Fix: start Docker.')")
    error = [o for o in outputs if o.output_type == "error"]
    assert len(error) == 1 and error[0].ename == "DockerUnavailable"
    assert error[0].traceback == ["DockerUnavailable: No Docker daemon. Fix: start Docker."]


def test_other_errors_keep_their_traceback():
    outputs = run_cells("import dockernet as dn", "def f():\n    1 / 0\nf()")
    error = [o for o in outputs if o.output_type == "error"][0]
    assert error.ename == "ZeroDivisionError" and len(error.traceback) > 1
