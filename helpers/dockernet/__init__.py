"""dockernet: the helper library of the Docker container communication course.

>>> import dockernet as dn
>>> lab = dn.Lab("01-default-bridge")     # doctest: +ELLIPSIS
Lab '01-default-bridge' for learner '...': ready
"""

from .connect import get_client
from .errors import (
    CleanupIncomplete,
    DockernetError,
    DockerUnavailable,
    ExpectationFailed,
    ImageUnavailable,
    LabError,
    UnknownObject,
)
from .lab import Lab
from .notebook import install_error_display
from .probe import ProbeResult

__all__ = [
    "CleanupIncomplete", "DockernetError", "DockerUnavailable", "ExpectationFailed",
    "ImageUnavailable", "Lab", "LabError", "ProbeResult", "UnknownObject",
    "get_client",
]
__version__ = "0.1.0"

# In a notebook, the lab's own errors (a daemon gone, bad input) print as one paragraph.
install_error_display()

#: Submodules a notebook reaches as ``dn.tables``, ``dn.plots``...; imported on first use so
#: that ``python -m dockernet doctor`` does not pay for matplotlib.
_LAZY_SUBMODULES = {"addressing", "checks", "cleanup", "hostview", "image", "naming", "outside",
                    "plots", "probe", "tables", "widgets", "capabilities", "engines", "firewall",
                    "ports", "hostside", "published",
                    "namespaces", "ipc", "legacy", "swarm", "overlay", "hosts", "vxlan",
                    "hostlinks", "isolation", "compose", "collisions", "upstream", "mtu",
                    "dualstack", "breakages", "perf", "perfpaths", "perfplots", "playground",
                    "playgroundviews"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
