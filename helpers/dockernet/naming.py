"""Labels and names: how the lab marks what it owns and names it per learner.

Pure logic, no daemon. Every object the lab creates carries the labels below,
all under one reserved prefix; cleanup trusts nothing else (not even names).

>>> labels = lab_labels("alice", "01-default-bridge", "s1", "helloworld")
>>> labels["dockernet.learner"], labels["dockernet.name"]
('alice', 'helloworld')
>>> docker_name("alice", "01-default-bridge", "helloworld")
'dn-alice-01-helloworld'
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re

from .errors import LabError

PREFIX = "dockernet."
LAB = PREFIX + "lab"
LEARNER = PREFIX + "learner"
LESSON = PREFIX + "lesson"
SESSION = PREFIX + "session"
SHORT_NAME = PREFIX + "name"
SPEC = PREFIX + "spec"
ROLE = PREFIX + "role"  # "tool" for helper containers the lesson's pictures leave out

#: Names a learner types that mean Docker's own networks, not lab networks.
BUILTIN_NETWORKS = ("bridge", "host", "none")

_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_LESSON_NUMBER = re.compile(r"^(\d{2})(?:-|$)")


def sanitize_learner(raw: str) -> str:
    """Turn any user name into a short id that is safe inside Docker names.

    Characters Docker refuses are dropped; when that changed the name, a short
    hash of the original keeps two different users apart.

    >>> sanitize_learner("alice")
    'alice'
    >>> sanitize_learner("Bob Smith").startswith("bobsmith-")
    True
    """
    cleaned = re.sub(r"[^a-z0-9]", "", raw.lower())[:20]
    if cleaned == raw and cleaned:
        return cleaned
    digest = hashlib.sha256(raw.encode()).hexdigest()[:6]
    return f"{cleaned or 'learner'}-{digest}"


def learner_id(environ: dict | None = None) -> str:
    """The learner this kernel works for.

    ``DOCKERNET_LEARNER`` (an explicit setting, used by instructors and tests)
    wins; then ``JUPYTERHUB_USER``; then the OS user; then ``learner``.
    """
    env = os.environ if environ is None else environ
    for key in ("DOCKERNET_LEARNER", "JUPYTERHUB_USER"):
        if env.get(key):
            return sanitize_learner(env[key])
    try:
        return sanitize_learner(getpass.getuser())
    except (KeyError, OSError):  # a uid with no passwd entry, as in some containers
        return "learner"


def lesson_key(lesson: str) -> str:
    """The short lesson part of Docker names: ``01`` for ``01-default-bridge``."""
    check_short_name(lesson, what="lesson")
    match = _LESSON_NUMBER.match(lesson)
    return match.group(1) if match else lesson


def check_short_name(name: str, what: str = "name") -> str:
    """Refuse names Docker would refuse, with the rule in the message."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or len(name) > 40:
        raise LabError(
            f"{what} {name!r} is not usable: use 1-40 lower-case letters, digits, '-', '_' or '.', "
            f"starting with a letter or digit (for example 'web1')."
        )
    return name


def docker_name(learner: str, lesson: str, short: str) -> str:
    """The real Docker name of a lab object: namespaced per learner and lesson."""
    return f"dn-{learner}-{lesson_key(lesson)}-{check_short_name(short)}"


def lab_labels(learner: str, lesson: str, session: str, short: str, spec: str = "") -> dict:
    """The labels every lab object carries."""
    labels = {
        LAB: "1",
        LEARNER: learner,
        LESSON: lesson,
        SESSION: session,
        SHORT_NAME: short,
    }
    if spec:
        labels[SPEC] = spec
    return labels


def label_filters(learner: str | None = None, lesson: str | None = None) -> list[str]:
    """Label filters for the daemon's list calls (never empty: always the lab label)."""
    filters = [f"{LAB}=1"]
    if learner:
        filters.append(f"{LEARNER}={learner}")
    if lesson:
        filters.append(f"{LESSON}={lesson}")
    return filters


def owned_by(labels: dict | None, learner: str | None = None, lesson: str | None = None) -> bool:
    """Re-check an object's own labels before touching it.

    >>> owned_by({"dockernet.lab": "1", "dockernet.learner": "a"}, learner="a")
    True
    >>> owned_by({"dockernet.learner": "a"}, learner="a")
    False
    """
    labels = labels or {}
    if labels.get(LAB) != "1":
        return False
    if learner is not None and labels.get(LEARNER) != learner:
        return False
    if lesson is not None and labels.get(LESSON) != lesson:
        return False
    return True


def spec_hash(spec: dict) -> str:
    """A stable fingerprint of what was asked for, to tell "same" from "changed"."""
    blob = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def display_name(labels: dict | None, docker_name_: str) -> str:
    """The name a learner knows an object by: its short name if the lab made it.

    >>> display_name({"dockernet.lab": "1", "dockernet.name": "web"}, "dn-a-01-web")
    'web'
    >>> display_name({}, "bridge")
    'bridge'
    """
    labels = labels or {}
    if labels.get(LAB) == "1" and labels.get(SHORT_NAME):
        return labels[SHORT_NAME]
    return docker_name_
