"""Execute a lesson notebook in a fresh kernel, as the notebook tests and authors do.

    python tests/nbrun.py notebooks/01-default-bridge.ipynb [--times 2]

Prints each failing cell's error and the seconds each run took; exits 1 on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from dockernet.checks import FAILED_MARK
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: str | Path, timeout: int = 300, env: dict | None = None, **options):
    """Run every cell of the notebook at ``path`` in a fresh kernel; return the executed copy.

    ``options`` go to nbclient's ``NotebookClient`` (e.g. ``timeout_func``). Each executed
    cell's metadata records its timing (``execution``: ``iopub.status.busy``,
    ``shell.execute_reply``...).

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised; the message shows the cell.
    """
    notebook = nbformat.read(str(path), as_version=4)
    previous = dict(os.environ)
    os.environ.update(env or {})
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(Path(path).parent)}},
                       **options).execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    return notebook


def outputs_text(notebook) -> str:
    """Every text output of an executed notebook, joined (for assertions)."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts.append(data.get("text/plain", ""))
            parts.append(data.get("text/html", ""))
            parts.extend(output.get("traceback", []))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        parts += [output.get("text", ""), data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def failed_checks(notebook) -> list[str]:
    """Self-checks that said "not yet" where they should not have.

    A self-check may fail only right before its solution cell (Run All reaches it while the
    learner's cell is still empty); the solution then ends with ``.require()``.
    """
    code = [c for c in notebook.cells if c.cell_type == "code"]
    return [cell.source.splitlines()[0] for cell, after in zip(code, [*code[1:], None])
            if FAILED_MARK in _text(cell)
            and not (after is not None and "solution" in after.metadata.get("tags", []))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--times", type=int, default=1)
    args = parser.parse_args()
    for attempt in range(1, args.times + 1):
        start = time.perf_counter()
        try:
            notebook = execute(args.notebook)
        except Exception as exc:  # noqa: BLE001 - an author tool: show whatever broke
            print(f"run {attempt}: FAILED\n{exc}")
            return 1
        print(f"run {attempt}: ok in {time.perf_counter() - start:.1f} s")
        if failed_checks(notebook):
            print(f"run {attempt}: a self-check failed: {failed_checks(notebook)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
