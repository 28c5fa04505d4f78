"""How the lab's own errors look in a notebook: one clear paragraph, no traceback.

Every error dockernet raises on purpose (:class:`~dockernet.errors.DockernetError`:
a daemon that is missing or went away, bad input, a missing image) already says
what happened and how to fix it. A traceback through docker-py, requests and
urllib3 would bury that, so in IPython those errors print as ``Name: message``.
The cell still fails (a test executing the notebook still sees the error), and
every other exception keeps its usual traceback.

>>> from dockernet.notebook import error_lines
>>> from dockernet.errors import LabError
>>> error_lines(LabError, LabError("subnet '10.0.0.300/24' is not a valid IPv4 CIDR"))
["LabError: subnet '10.0.0.300/24' is not a valid IPv4 CIDR"]
"""

from __future__ import annotations

import sys

from .errors import DockernetError


def error_lines(etype: type, value: BaseException) -> list[str]:
    """The structured traceback IPython shows for a :class:`DockernetError`: one line."""
    return [f"{etype.__name__}: {value}"]


def _show(shell, etype, value, tb, tb_offset=None):
    # IPython's custom exception handler signature. IPython ignores what it returns, so show
    # the lines ourselves; _showtraceback is the hook frontends (ipykernel) override to send
    # the error to the notebook, which still marks the cell as failed.
    shell._showtraceback(etype, value, error_lines(etype, value))


def install_error_display() -> bool:
    """In an IPython kernel, show dockernet's errors without a traceback.

    Returns:
        bool: True when an IPython shell was found (importing dockernet outside IPython
        changes nothing).
    """
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((DockernetError,), _show)
    return True
