"""Self-checks and claims for lesson 07 (talking without a network).

Claims check what a section says, on whatever engine runs it, and raise
:class:`~dockernet.ExpectationFailed` with the reason when the engine disagrees; each
returns what it was given, so a cell can show it. The exercises' self-checks read
live state and return a :class:`~dockernet.checks.CheckResult`: a hint, never the answer.

>>> from dockernet.checks import lesson07
>>> lesson07.auditor(lab)                              # doctest: +ELLIPSIS
CheckResult(passed=False, hint='There is no container called auditor yet: ...')
"""

from __future__ import annotations

from .. import ipc
from ..namespaces import exec_heard
from ..probe import heard
from . import CheckResult, choice, container_or_none, fail, verdict

PAIR = ("server", "client")
VOLUME = "shared"
#: Exercise 1: the letter of the right prediction, and a hint for each wrong one.
STALE_RIGHT = "b"
STALE_REASONS = {
    "a": "Nothing in the kernel waits for a server to come back: connect() answers at once. "
         "Try it with lab.exec and read what nc prints.",
    "c": "Look at the volume (ipc.listing): is the socket file gone when its server stops?",
    "d": "A socket keeps no data: every answer is computed by a live server. Try it.",
}
#: Exercise 2: the container that reads the shared volume without being able to change it.
AUDITOR = "auditor"


_fail = fail


# -- claims of the sections ---------------------------------------------------------------


def isolated_pair_holds(lab, volumes, pair=PAIR, volume: str = VOLUME):
    """Section 1: both containers of ``pair`` run with ``--network none`` (only ``lo``
    inside) and mount the lab volume ``volume`` read-write at ``/shared``. ``volumes`` is
    :func:`dockernet.ipc.volumes`; it is returned."""
    for name in pair:
        container = lab.get_container(name)
        mode = container.attrs["HostConfig"]["NetworkMode"]
        links = exec_heard(lab, name, ["ip", "-o", "link"]).expect_success().stdout
        interfaces = [line.split(":")[1].strip() for line in links.splitlines()]
        if mode != "none" or interfaces != ["lo"]:
            _fail(f"{name} runs on network {mode!r} with {interfaces}, not on none with only lo")
    row = volumes[volumes["volume"] == volume]
    users = row["used_by"].iloc[0] if not row.empty else ""
    missing = [name for name in pair if f"{name} (rw)" not in users]
    if missing:
        _fail(f"the lab volume {volume!r} is not mounted read-write by {', '.join(missing)} "
              f"(used by: {users or 'nobody'})")
    return volumes


def file_still_there(lab, container: str = "client", message: str = "status: ready"):
    """Section 6: a container created after the file was written reads it from the volume.
    Returns the ``cat``."""
    read = exec_heard(lab, container, ["cat", f"{ipc.MOUNT}/{ipc.MESSAGE_FILE}"])
    if not read.ok or read.stdout != message:
        _fail(f"{container} reads {read.output[:200]!r} from {ipc.MESSAGE_FILE}, not {message!r}")
    return read


def exchange_holds(exchange):
    """Sections 2 to 4: what came out of the exchange is what should have. Returns it."""
    if not exchange.ok:
        _fail(f"the {exchange.way} exchange failed: {exchange}")
    return exchange


def writer_blocks(result):
    """Section 3: writing into a FIFO that nobody reads waits (here until ``timeout``
    stops it, exit 124) instead of failing or returning."""
    if not result.timed_out:
        _fail(f"expected the writer in {result.source} to wait until its timeout, but it "
              f"ended with exit {result.exit_code}: {result.output[:200]!r}")
    return result


def socket_listed_only_in(lab, server: str = "server", client: str = "client"):
    """Section 4: ``ss -xl`` lists the service's socket in ``server``'s network namespace
    and not in ``client``'s (each has a namespace of its own). Returns ``server``'s listing."""
    path = f"{ipc.MOUNT}/{ipc.SOCKET}"
    listed = {name: exec_heard(lab, name, ["ss", "-xl"]).expect_success()
              for name in (server, client)}
    if path not in listed[server].output or path in listed[client].output:
        _fail(f"expected {path} listed by ss in {server} only:\n{listed[server].output}\n"
              f"---\n{listed[client].output}")
    return listed[server]


def not_a_file(result):
    """Section 4: ``cat`` cannot read a socket file: the kernel answers "No such device or
    address" (ENXIO), since a socket is reached with connect(), not open()."""
    result = heard(result)
    if result.ok or "No such device or address" not in result.output:
        _fail(f"expected cat to fail with 'No such device or address' in {result.source}, "
              f"got (exit {result.exit_code}) {result.output[:200]!r}")
    return result


def listing_holds(table):
    """Section 5: the volume holds the message as a regular file with its bytes, the FIFO
    and the socket as special files of size 0. ``table`` is :func:`dockernet.ipc.listing`."""
    found = {row.name: (row.type, row.size) for row in table.itertuples()}
    expected = {ipc.MESSAGE_FILE: "regular file", ipc.FIFO: "fifo", ipc.SOCKET: "socket"}
    for name, kind in expected.items():
        got = found.get(name)
        if got is None or got[0] != kind:
            _fail(f"{name} on the volume is {got[0] if got else 'missing'}, not a {kind}")
        if (got[1] > 0) != (kind == "regular file"):
            _fail(f"{name} ({kind}) has {got[1]} bytes on the volume")
    return table


def cleanup_removed_volume(lab, removed, volume: str = VOLUME):
    """Cleanup: ``lab.cleanup()`` removed the lab volume (and with it the FIFO and the
    socket file) and the daemon lists no volume of this lesson any more. Returns ``removed``."""
    if volume not in removed.volumes:
        _fail(f"lab.cleanup() removed {removed.volumes}, not the volume {volume!r}")
    if not ipc.volumes(lab).empty:
        _fail(f"volumes of this lesson are still there: {ipc.volumes(lab)['volume'].tolist()}")
    return removed


# -- exercises ------------------------------------------------------------------------------


def stale_socket(lab, prediction) -> CheckResult:
    """Exercise 1: the learner predicted what a client gets from the socket once its
    server is stopped, and stopped ``server`` to see.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        prediction (str): the letter of the learner's prediction.
    """
    wrong = choice(prediction, STALE_REASONS, STALE_RIGHT)
    if wrong is not None and wrong.hint not in STALE_REASONS.values():
        return wrong  # not one of the letters: say how to answer before anything else
    server, client = (container_or_none(lab, name) for name in PAIR)
    if client is None or client.status != "running":
        return CheckResult(False, "client is not running: re-run the cells of section 1.")
    if server is not None and server.status == "running":
        return CheckResult(False, "server still runs: stop it first (the task says how), "
                                  "then check again.")
    answer = exec_heard(lab, "client",
                        ["sh", "-c", f"echo hello | nc -U -N {ipc.MOUNT}/{ipc.SOCKET}"])
    if "Connection refused" not in answer.output:
        return CheckResult(False, f"client's request got {answer.output[:200]!r}, not the "
                                  "answer this exercise is about: re-run sections 1 to 4, then "
                                  "stop server.")
    if wrong is not None:  # a CheckResult is falsy when it failed: compare with None
        return wrong
    return CheckResult(True, praise="Right: the socket file stays, but with no process listening "
                                    "the kernel refuses the connection at once (ECONNREFUSED). A "
                                    "new server must remove it before bind().")


def auditor(lab) -> CheckResult:
    """Exercise 2: ``auditor`` has no network, mounts the shared volume read-only at
    ``/shared``, reads the message file, and cannot write there.

    Args:
        lab (dockernet.Lab): the lesson's lab.
    """
    box = container_or_none(lab, AUDITOR)
    if box is None:
        return CheckResult(False, f"There is no container called {AUDITOR} yet: lab.run (or "
                                  "ipc.isolated) makes one.")
    mounts = [m for m in box.attrs.get("Mounts") or [] if m.get("Destination") == ipc.MOUNT]
    shared = [v for v in ipc.volumes(lab).itertuples() if v.volume == VOLUME]
    first = verdict([
        (box.status == "running", f"{AUDITOR} is {box.status}: it must keep running (the "
                                  "default command does)."),
        (box.attrs["HostConfig"]["NetworkMode"] == "none",
         f"{AUDITOR} runs on network {box.attrs['HostConfig']['NetworkMode']!r}: an auditor of "
         "secrets gets no network at all."),
        (bool(mounts), f"{AUDITOR} mounts nothing at {ipc.MOUNT}."),
        (bool(shared) and bool(mounts) and mounts[0].get("Name") == shared[0].docker_name,
         f"{AUDITOR} mounts another volume at {ipc.MOUNT}, not the lab volume {VOLUME!r}."),
        (bool(mounts) and not mounts[0].get("RW"),
         f"{AUDITOR} can write to {ipc.MOUNT}: mount it read-only (the mode of the volume "
         "binding)."),
    ])
    if not first:
        return first
    read = exec_heard(lab, AUDITOR, ["cat", f"{ipc.MOUNT}/{ipc.MESSAGE_FILE}"])
    write = lab.exec(AUDITOR, ["touch", f"{ipc.MOUNT}/audit-was-here"], timeout=5)
    return verdict([
        (read.ok, f"{AUDITOR} cannot read {ipc.MESSAGE_FILE}: {read.output[:200]} (re-run "
                  "section 2 if the file is missing)."),
        (not write.ok, f"{AUDITOR} could create a file in {ipc.MOUNT}."),
    ], praise=f"{AUDITOR} reads {read.stdout!r} and cannot change a thing: no network, a "
              "read-only volume.")
