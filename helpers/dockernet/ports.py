"""Host ports of one's own: a classroom on one daemon never collides.

A published port (``-p 127.0.0.1:HOSTPORT:8000``) or a server on the host
network takes a port in the host's one, shared, port space. Thirty learners on one
daemon cannot all take 8080, so every lab host port comes from here: a block of
:data:`BLOCK` ports per learner and lesson inside :data:`DEFAULT_RANGE` (or
``DOCKERNET_PORTS``), skipping every port the daemon has published for anyone and
every port a process on the host listens on.

Blocks are spread by a hash, so two learners' blocks can meet; a block is
therefore *claimed* before use, atomically, by creating a labelled volume named
after it (``dn-portblock-20050``): Docker hands an existing volume back instead of
failing, and its labels say who claimed it first. A claimed block goes to the
next learner along; the claim is a lab object of that lesson, so ``lab.cleanup()``
frees it. A process outside the lab may still take a port between the look and
the use: Docker then says "port is already allocated", and :func:`is_port_taken`
recognises it.

>>> start = block_start("alice", "03-publishing-ports", range(20000, 30000))
>>> 20000 <= start < 30000 and (start - 20000) % BLOCK == 0
True
>>> first_free(range(20000, 20010), start=20000, taken={20000, 20001})
20002
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from .errors import LabError
from .naming import ROLE, SHORT_NAME, lab_labels, label_filters, owned_by

#: Below Linux's ephemeral range (32768-60999), so no outgoing connection holds one, and
#: above the ports services usually take.
DEFAULT_RANGE = "20000-29999"
#: Ports per learner and lesson: a lesson needs a few (a server, a second one, a collision).
BLOCK = 10
#: A claimed block is a lab volume of this name plus the block's first port.
CLAIM_PREFIX = "dn-portblock-"
CLAIM_ROLE = "portblock"


def parse_range(text: str | None = None) -> range:
    """The lab's host port range, from the argument, ``DOCKERNET_PORTS`` or the default.

    >>> parse_range("20000-20099")
    range(20000, 20100)
    >>> parse_range("80-90")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: DOCKERNET_PORTS '80-90' must be FIRST-LAST between 1024 and 32767...
    """
    text = text or os.environ.get("DOCKERNET_PORTS") or DEFAULT_RANGE
    first, _, last = text.partition("-")
    try:
        ports = range(int(first), int(last) + 1)
    except ValueError:
        ports = range(0)
    if len(ports) < BLOCK or ports.start < 1024 or ports.stop > 32768:
        raise LabError(f"DOCKERNET_PORTS {text!r} must be FIRST-LAST between 1024 and 32767 "
                       f"with at least {BLOCK} ports, for example {DEFAULT_RANGE!r}.")
    return ports


def block_start(learner: str, lesson: str, ports: range) -> int:
    """The first port of a learner's block for a lesson: spread by a hash, the same every run."""
    blocks = len(ports) // BLOCK
    digest = hashlib.sha256(f"{learner}/{lesson}".encode()).digest()
    return ports.start + int.from_bytes(digest[:4], "big") % blocks * BLOCK


def first_free(ports: range, start: int, taken: Iterable[int]) -> int:
    """The first port of ``ports`` from ``start`` on (wrapping round) that is not taken.

    Raises:
        LabError: every port of the range is taken.
    """
    taken = set(taken)
    offset = start - ports.start
    for step in range(len(ports)):
        port = ports[(offset + step) % len(ports)]
        if port not in taken:
            return port
    raise LabError(f"every port in {ports.start}-{ports.stop - 1} is taken on this host: clean up "
                   "old labs (`python -m dockernet clean --all-learners`), or set DOCKERNET_PORTS "
                   "to a free range below 32768, e.g. DOCKERNET_PORTS=12000-12999.")


def published_ports(client) -> set[int]:
    """Every host port the daemon has published, for any container (the lab's or not)."""
    taken = set()
    for container in client.api.containers(all=False):
        taken.update(p["PublicPort"] for p in container.get("Ports") or [] if p.get("PublicPort"))
    return taken


def listening_ports(lab) -> set[int]:
    """TCP and UDP ports processes listen on in the host's network namespace (``ss`` in the
    host view), host-network containers and docker-proxy included."""
    from . import hostview  # the host view needs the lab; imported late to keep this module pure

    result = hostview.host_exec(lab, ["ss", "-Htuln"])
    taken = set()
    for line in result.output.splitlines():
        fields = line.split()
        if len(fields) >= 5 and ":" in fields[4]:
            port = fields[4].rsplit(":", 1)[1]
            if port.isdigit():
                taken.add(int(port))
    return taken


def host_port(lab, after: int | None = None) -> int:
    """A host port of this learner's own, free right now.

    Args:
        lab (dockernet.Lab): the learner and lesson the port is for.
        after (int): a port already handed out: the next free one after it (for a
            second server, or after Docker said a port was just taken by someone else).

    Returns:
        int: a port in this learner's block of ``DOCKERNET_PORTS`` (default
        20000-29999) that no container publishes and no host process listens on. The
        same learner and lesson get the same port on every run while it stays free.

    Raises:
        LabError: the range has no free port left.

    Example:

        >>> port = host_port(lab)
        >>> 20000 <= port < 30000, host_port(lab) == port, host_port(lab, after=port) > port
        (True, True, True)
    """
    ports = parse_range()
    taken = published_ports(lab.client) | listening_ports(lab)
    blocks = _held_blocks(lab) or [_claim_from(lab, ports, block_start(lab.learner, lab.lesson,
                                                                       ports))]
    for _ in range(3):
        for block in blocks:
            for port in range(block, block + BLOCK):
                if port not in taken and (after is None or port > after):
                    return port
        # These blocks are used up (by processes outside the lab): claim the next one along.
        blocks.append(_claim_from(lab, ports, blocks[-1] + BLOCK))
    raise LabError(f"no free port in this learner's blocks of {ports.start}-{ports.stop - 1}: "
                   "clean up old labs (`python -m dockernet clean --all-learners`), or set "
                   "DOCKERNET_PORTS to a range with free ports below 32768.")


def _held_blocks(lab) -> list[int]:
    """The blocks this learner and lesson have claimed, in the order of their ports."""
    mine = lab.client.volumes.list(filters={"label": [*label_filters(lab.learner, lab.lesson),
                                                      f"{SHORT_NAME}={CLAIM_ROLE}"]})
    return sorted(int(v.name[len(CLAIM_PREFIX):]) for v in mine
                  if v.name.startswith(CLAIM_PREFIX)
                  and owned_by(v.attrs.get("Labels"), lab.learner, lab.lesson))


def _claim_from(lab, ports: range, start: int) -> int:
    """Claim the first unclaimed block from ``start`` on; returns its first port."""
    blocks = len(ports) // BLOCK
    for step in range(blocks):
        block = ports.start + ((start - ports.start) // BLOCK + step) % blocks * BLOCK
        labels = lab_labels(lab.learner, lab.lesson, lab.session, CLAIM_ROLE)
        labels[ROLE] = "tool"
        # Atomic: of two learners creating the same name at once, both get one volume back,
        # and its labels are the first creator's.
        claim = lab.client.volumes.create(f"{CLAIM_PREFIX}{block}", labels=labels)
        if owned_by(claim.attrs.get("Labels"), lab.learner, lab.lesson):
            return block
    raise LabError(f"every block of ports in {ports.start}-{ports.stop - 1} is claimed: clean up "
                   "old labs (`python -m dockernet clean --all-learners`), or set DOCKERNET_PORTS "
                   "to a wider range below 32768.")


def is_port_taken(error: Exception) -> bool:
    """Whether an error from Docker (or the lab's rewording of it) says the host port is taken."""
    text = str(error)
    return "port is already allocated" in text or "address already in use" in text.lower()
