"""A rendered copy of the course: every lesson executed on this host, with its outputs, as HTML.

Instructors prepare with it, and learners on another engine (Docker Desktop, an
older or newer Docker) compare their outputs with it. The notebooks are run in
fresh kernels under a learner id of their own (``render``), so rendering never
resets a lesson a learner has open, and each lesson's last cell cleans up.

    python -m dockernet render notebooks build/html      # or: make html

>>> from dockernet.render import notebook_pairs
>>> from pathlib import Path
>>> notebook_pairs(Path("notebooks/01-default-bridge.ipynb"), Path("out"), ".html")
[(PosixPath('notebooks/01-default-bridge.ipynb'), PosixPath('out/01-default-bridge.html'))]
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

from .errors import LabError
from .image import Progress

#: The learner id the rendered lessons run under: its own namespace, never a learner's.
RENDER_LEARNER = "render"


def notebook_pairs(src: Path, dst: Path, suffix: str = ".ipynb") -> list[tuple[Path, Path]]:
    """``(notebook, target)`` for a notebook or a folder of them; targets keep the stem.

    Raises:
        LabError: ``src`` is missing or holds no notebooks, or a target would overwrite it.
    """
    if src.is_file():
        pairs = [(src, dst if dst.suffix == suffix else dst / (src.stem + suffix))]
    elif src.is_dir():
        pairs = [(path, dst / (path.stem + suffix)) for path in sorted(src.glob("*.ipynb"))]
    else:
        raise LabError(f"{src} does not exist: give a notebook or a folder of notebooks.")
    if not pairs:
        raise LabError(f"{src} holds no .ipynb files: did you mean the notebooks/ folder?")
    if any(target.resolve() == source.resolve() for source, target in pairs):
        raise LabError(f"the output would overwrite {src}: choose another folder.")
    return pairs


def render(src: Path | str = "notebooks", dst: Path | str = "build/html",
           learner: str = RENDER_LEARNER, timeout: int = 600,
           progress: Progress = print) -> list[Path]:
    """Execute each notebook in a fresh kernel and write it, outputs included, as HTML.

    Args:
        src: a notebook or a folder of notebooks.
        dst: the folder for the HTML files (and an ``index.html``).
        learner (str): the learner id the kernels run under.
        timeout (int): seconds one cell may take.
        progress: called with one line per lesson.

    Returns:
        list of Path: the pages written, index first.

    Raises:
        LabError: a lesson failed on this host; the message names the lesson and the cell.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    pairs = notebook_pairs(Path(src), Path(dst), ".html")
    exporter = HTMLExporter()
    env = {**os.environ, "DOCKERNET_LEARNER": learner}
    written = []
    for source, target in pairs:
        started = time.monotonic()
        notebook = nbformat.read(str(source), as_version=4)
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(source.parent)}})
        try:
            client.execute(env=env)
        except CellExecutionError as exc:
            raise LabError(f"{source.name} failed on this host, so it was not rendered:\n"
                           f"{str(exc)[-1500:]}") from None
        body, _ = exporter.from_notebook_node(notebook)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        written.append(target)
        progress(f"{target} ({time.monotonic() - started:.1f} s)")
    index = Path(dst) / "index.html"
    index.write_text(_index_page(written), encoding="utf-8")
    return [index, *written]


def _index_page(pages: list[Path]) -> str:
    links = "\n".join(f'<li><a href="{html.escape(page.name)}">{html.escape(page.stem)}</a></li>'
                      for page in pages)
    return (f"<!doctype html><meta charset='utf-8'><title>dockernet: rendered lessons</title>"
            f"<h1>The lessons, executed on this host</h1>"
            f"<p>Rendered {time.strftime('%Y-%m-%d %H:%M')} with every output.</p>"
            f"<ul>\n{links}\n</ul>\n")
