"""dockernet: the helper library of the Docker container communication course.

>>> import dockernet as dn
>>> lab = dn.Lab("01-default-bridge")     # doctest: +SKIP
"""

from .connect import get_client
from .errors import (CleanupIncomplete, DockernetError, DockerUnavailable, ExpectationFailed,
                     FeatureUnavailable, ImageUnavailable, LabError, UnknownObject)
from .lab import Lab
from .probe import ProbeResult

__all__ = [
    "CleanupIncomplete", "DockernetError", "DockerUnavailable", "ExpectationFailed",
    "FeatureUnavailable", "ImageUnavailable", "Lab", "LabError", "ProbeResult", "UnknownObject",
    "get_client",
]
__version__ = "0.1.0"
