"""What changes for the lessons from one Docker engine version to the next.

Learners run Docker Engine 20.10 to 29, and the lessons were written on 20.10.
:func:`changes` lists the version-dependent facts the course meets, each marked
with whether *this* engine has it, so lesson 00 and ``python -m dockernet doctor``
can say what differs here. Each fact was checked against moby's source at the
version it names (the iptables and nftables rule documents moby generates under
``integration/network/bridge/``, ``api/docs/CHANGELOG.md``) and Docker's docs.

>>> rows = changes("20.10.24+dfsg1", "iptables-nft")
>>> any(row["this engine"] for row in rows)
False
>>> [row["since"] for row in changes("29.7.2", "nftables") if row["this engine"]][-3:]
['29.0', '29.0', '29.0']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

COLUMNS = ["since", "change", "lessons", "this engine"]


@dataclass(frozen=True)
class Change:
    """One version-dependent fact: the engine version that brought it, what a learner
    sees, and the lessons it touches. ``backend`` limits it to one firewall backend."""

    key: str
    since: tuple[int, ...]
    change: str
    lessons: str
    backend: str | None = None


CHANGES = (
    Change("unpublished-ports-dropped", (28, 0),
           "direct routing to a container's unpublished ports is blocked: the DOCKER chain "
           "drops what enters a bridge from elsewhere (`! -i BRIDGE -o BRIDGE -j DROP`)",
           "02, 03, 11"),
    Change("loopback-ports-local", (28, 0),
           "ports published on 127.0.0.1 are no longer reachable from other hosts on the LAN "
           "(a DROP in the raw table's PREROUTING)", "03"),
    Change("docker-forward-chain", (28, 0, 1),
           "Docker's filter rules move from FORWARD into DOCKER-FORWARD, which jumps to "
           "DOCKER-CT (replies) and DOCKER-BRIDGE (to the DOCKER chain)", "02, 11"),
    Change("firewall-backend-in-info", (28, 1),
           "`docker info` reports the firewall backend (FirewallBackend, API 1.49)", "00"),
    Change("isolation-chains-replaced", (29, 0),
           "DOCKER-ISOLATION-STAGE-1/2 are gone: the DOCKER chain's DROP per bridge keeps "
           "bridge networks apart, DOCKER-INTERNAL guards internal networks", "02, 11"),
    Change("nftables-backend", (29, 0),
           "nftables backend (experimental, `\"firewall-backend\": \"nftables\"`): table "
           "`ip docker-bridges`, no DOCKER-USER chain, not with swarm, does not enable "
           "ip_forward", "00, 01, 02, 03, 09, 11", backend="nftables"),
    Change("link-env-vars-dropped", (29, 0),
           "`--link` no longer sets the linked container's environment variables", "04"),
    Change("macvlan-no-default-gateway", (29, 0),
           "a macvlan network created without `--gateway` gets no gateway address and its "
           "containers no default route", "08"),
    Change("top-level-address-fields-dropped", (29, 0),
           "API 1.52: container inspect drops the top-level NetworkSettings.IPAddress, "
           "Gateway and MacAddress (read NetworkSettings.Networks[...])", "all"),
)


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of an engine version string, or ``None``.

    >>> parse_version("20.10.24+dfsg1"), parse_version("29.0.0-rc.1"), parse_version("28.1")
    ((20, 10, 24), (29, 0, 0), (28, 1, 0))
    >>> parse_version("dev") is None
    True
    """
    found = re.match(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not found:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)


def _has(change: Change, version: tuple[int, int, int] | None, backend: str | None) -> bool | None:
    if version is None:
        return None  # unknown: neither yes nor no
    if version < change.since + (0,) * (3 - len(change.since)):
        return False
    return change.backend is None or change.backend == backend


def changes(version: str | None, backend: str | None = None) -> list[dict]:
    """The course's version-dependent facts, each with whether this engine has it.

    Args:
        version (str): the engine version (``docker version``'s ``Version``).
        backend (str): the firewall backend (``iptables-nft``, ``iptables-legacy``,
            ``nftables``), for facts of one backend only.

    Returns:
        list of dict with the keys ``key`` and :data:`COLUMNS`; ``"this engine"`` is
        ``True``, ``False`` or ``None`` (the version could not be read).

    >>> [(row["key"], row["this engine"]) for row in changes("28.0.4")][:3]
    [('unpublished-ports-dropped', True), ('loopback-ports-local', True), ('docker-forward-chain', True)]
    >>> [row["this engine"] for row in changes("29.0.0", "iptables-nft")
    ...  if row["key"] == "nftables-backend"]
    [False]
    """
    parsed = parse_version(version)
    return [{"key": change.key, "since": ".".join(map(str, change.since)),
             "change": change.change, "lessons": change.lessons,
             "this engine": _has(change, parsed, backend)} for change in CHANGES]


def changes_frame(version: str | None, backend: str | None = None) -> pd.DataFrame:
    """:func:`changes` as a DataFrame indexed by ``key``."""
    return pd.DataFrame(changes(version, backend), columns=["key", *COLUMNS]).set_index("key")


def changes_text(version: str | None, backend: str | None = None) -> str:
    """:func:`changes` as lines for a terminal: ``[yes]``/``[no]`` for this engine, the version,
    the change and its lessons.

    >>> print(changes_text("28.0.4").splitlines()[3])
    [no ] 28.1    `docker info` reports the firewall backend (FirewallBackend, API 1.49) (lesson 00)
    """
    marks = {True: "yes", False: "no ", None: "?  "}

    def where(lessons: str) -> str:
        return "every lesson" if lessons == "all" else \
            f"lesson{'s' if ',' in lessons else ''} {lessons}"

    return "\n".join(f"[{marks[row['this engine']]}] {row['since']:<7} {row['change']} "
                     f"({where(row['lessons'])})" for row in changes(version, backend))
