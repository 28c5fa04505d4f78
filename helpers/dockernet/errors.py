"""Exceptions a learner can meet, each carrying the fix in its message.

Every error the lab raises on purpose derives from :class:`DockernetError`, so a
notebook can show one clear paragraph instead of a traceback through docker-py.
"""


class DockernetError(Exception):
    """Base class of every error dockernet raises on purpose."""


class DockerUnavailable(DockernetError):
    """The Docker daemon cannot be used: not running, not reachable, too old.

    The message says what was tried and how to fix it.
    """


class LabError(DockernetError, ValueError):
    """Bad input from the learner: nothing was created or changed."""


class UnknownObject(LabError, LookupError):
    """A container, network or volume name the lab does not know."""


class ImageUnavailable(DockernetError):
    """The lab image is missing and cannot be built or loaded here."""


class CleanupIncomplete(DockernetError):
    """Cleanup finished but some of the lab's objects are still there."""


class ExpectationFailed(AssertionError):
    """A probe did not behave as the lesson claims (a wrong claim fails CI)."""
