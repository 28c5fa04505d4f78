"""Talking without a network: containers that share a volume exchange data through it.

Two containers started with ``--network none`` have nothing but ``lo``, yet they run
on one kernel. When both mount the same volume they can hand each other data three
ways, each through a path on that volume:

- a **file** (:func:`via_file`): the data is written to disk and stays there;
- a **FIFO** (:func:`via_fifo`, ``mkfifo``): a kernel pipe with a name; the data goes
  from the writer to the reader and never touches the disk;
- a **Unix domain socket** (:func:`serve`, :func:`via_socket`): a server listens on
  a path, clients connect to it, and each connection carries a request and a response.

Every exchange is bounded: each side runs under ``timeout`` inside its container.
Containers and volumes are ordinary lab objects (labelled, removed by
``lab.cleanup()``); the FIFO and the socket are files on the volume, and go with it.

>>> import dockernet as dn
>>> from dockernet import ipc
>>> lab = dn.Lab("07-without-a-network", quiet=True)
>>> _ = ipc.isolated(lab, "server", "shared"), ipc.isolated(lab, "client", "shared")
>>> ipc.via_file(lab, "server", "client", "status: ready").received
'status: ready'
>>> ipc.via_fifo(lab, "client", "server", "one line").received
'one line'
>>> ipc.serve(lab, "server")
>>> ipc.via_socket(lab, "client", "server", "hello").received
'HELLO (answered by server)'
"""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass

import pandas as pd

from .errors import LabError
from .namespaces import exec_heard
from .naming import LEARNER, LESSON, ROLE, SHORT_NAME, label_filters, owned_by
from .probe import heard

#: Where every container of the lesson mounts the shared volume.
MOUNT = "/shared"
MESSAGE_FILE, FIFO, SOCKET = "message.txt", "pipe", "app.sock"
#: Seconds each side of an exchange may take, enforced inside its container.
EXCHANGE_TIMEOUT_S = 10
#: Seconds :func:`serve` waits for the service to accept connections.
READY_TIMEOUT_S = 30
#: Longest message an exchange carries (a lesson's line, not a bulk transfer).
MAX_MESSAGE = 4096
_SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: The Unix socket service :func:`serve` starts: it answers each line in capitals, and
#: names the container that answered. Its first line marks it, so a re-run finds it.
SOCKET_SERVICE = '''\
# dockernet socket service: answers each line in capitals, and says who answered.
import os, socket, sys
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)        # a socket file left by an earlier server: bind() would fail
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)          # creates the socket file on the volume
server.listen(8)
while True:
    conn, _ = server.accept()
    with conn:
        conn.settimeout(5)  # a client that never sends its line cannot hold the others up
        request = b""
        try:
            while not request.endswith(b"\\n") and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            who = socket.gethostname().encode()
            conn.sendall(request.strip().upper() + b" (answered by " + who + b")\\n")
        except OSError:
            pass
'''
#: pkill's pattern for the service: "[ ]" matches the space of the service's first line,
#: but not the pattern itself, so pkill and its ``timeout`` wrapper do not match.
_SERVICE_PATTERN = "dockernet[ ]socket service"


@dataclass
class Exchange:
    """One exchange through the shared volume, as both sides saw it.

    ``way`` is ``"file"``, ``"fifo"`` or ``"socket"``; for a socket the sender is the
    client, the receiver the server, ``sent`` the request and ``received`` the response.
    ``expected`` is what should have come out, ``seconds`` the whole exchange (the
    ``docker exec`` calls included), ``problem`` what a failing side printed.
    """

    way: str
    sender: str
    receiver: str
    path: str
    sent: str
    received: str
    expected: str
    seconds: float
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when what came out is what should have."""
        return self.received == self.expected

    def __str__(self) -> str:
        arrow = "⇄" if self.way == "socket" else "→"
        mark = "ok" if self.ok else f"FAILED {self.problem}".strip()
        return (f"{self.way}: {self.sender} {arrow} {self.receiver} via {self.path}: sent "
                f"{self.sent!r}, got {self.received!r} in {self.seconds:.2f} s ({mark})")

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.ok else "#b42318"
        return f"<div style='font-family:monospace;color:{colour}'>{html.escape(str(self))}</div>"


# -- pure ------------------------------------------------------------------------------------


def service_reply(request: str, hostname: str) -> str:
    """What :data:`SOCKET_SERVICE` answers to ``request`` when it runs in ``hostname``.

    >>> service_reply("hello", "server")
    'HELLO (answered by server)'
    """
    return f"{request.strip().upper()} (answered by {hostname})"


def volume_path(name: str) -> str:
    """The path of a file called ``name`` on the shared volume; names only, no folders.

    >>> volume_path("pipe")
    '/shared/pipe'
    >>> volume_path("../etc/passwd")                      # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: '../etc/passwd' is not a plain file name: ...
    """
    if not isinstance(name, str) or not _SAFE_FILE.match(name) or name in (".", ".."):
        raise LabError(f"{name!r} is not a plain file name: use letters, digits, '.', '_' or "
                       f"'-' (e.g. 'pipe'); it goes in {MOUNT}.")
    return f"{MOUNT}/{name}"


def check_message(message, *, one_line: bool = False) -> str:
    """``message`` if an exchange can carry it, else one :class:`LabError` that says why.

    >>> check_message("two\\nlines", one_line=True)       # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: a request is one line: ...
    """
    if not isinstance(message, str) or not message or "\0" in message:
        raise LabError(f"the message must be a non-empty string without NUL bytes, not {message!r}.")
    if len(message) > MAX_MESSAGE:
        raise LabError(f"the message has {len(message)} characters: at most {MAX_MESSAGE} here.")
    if one_line and "\n" in message:
        raise LabError(f"a request is one line: the service answers at the first newline. "
                       f"Send {message!r} without '\\n'.")
    return message


def parse_listing(text: str) -> pd.DataFrame:
    """``stat -c '%n|%F|%s'`` lines as a table: ``name``, ``type``, ``size`` (bytes).

    >>> parse_listing("/shared/pipe|fifo|0\\n/shared/message.txt|regular file|13")
              name          type  size
    0  message.txt  regular file    13
    1         pipe          fifo     0
    """
    rows = []
    for line in text.splitlines():
        parts = line.rsplit("|", 2)
        if len(parts) == 3 and parts[2].isdigit():
            rows.append({"name": parts[0].rsplit("/", 1)[-1], "type": parts[1],
                         "size": int(parts[2])})
    frame = pd.DataFrame(rows, columns=["name", "type", "size"])
    return frame.sort_values("name", ignore_index=True)


#: How the three ways differ: ``pd.DataFrame(WAYS).T`` is the table.
WAYS = {  # each cell at most 50 characters: pandas shows no more without a style
    "file": {
        "both run at once": "no: the reader may come days later",
        "direction": "one way",
        "left on the volume": "the data itself",
        "request and response": "no (two files, and polling)",
        "prefer it for": "results and reports that outlive both",
    },
    "fifo": {
        "both run at once": "yes: each side waits for the other",
        "direction": "one way",
        "left on the volume": "an empty name: data went through the kernel",
        "request and response": "no (one pipe per direction)",
        "prefer it for": "a stream from one process to one other",
    },
    "socket": {
        "both run at once": "the server must; clients come and go",
        "direction": "both ways, per connection",
        "left on the volume": "a socket file: data went through the kernel",
        "request and response": "yes, for many clients at once",
        "prefer it for": "a service: docker.sock, PostgreSQL, PHP-FPM",
    },
}


def exchanges_table(exchanges) -> pd.DataFrame:
    """The exchanges as a table: way, from, to, path, sent, received, seconds, ok."""
    return pd.DataFrame([{"way": ex.way, "from": ex.sender, "to": ex.receiver, "path": ex.path,
                          "sent": ex.sent, "received": ex.received,
                          "seconds": round(ex.seconds, 3), "ok": ex.ok} for ex in exchanges],
                        columns=["way", "from", "to", "path", "sent", "received", "seconds", "ok"])


# -- live: containers and volumes ---------------------------------------------------------------


def isolated(lab, name: str, volume: str = "shared", *, read_only: bool = False, command=None):
    """A lab container with no network (``--network none``) and ``volume`` at :data:`MOUNT`.

    The volume is a lab volume (created if needed, labelled): never a name Docker
    would create on the fly without the lab's labels.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        name (str): the container's name.
        volume (str): the lab volume's name.
        read_only (bool): mount it read-only (``-v shared:/shared:ro``).
        command: what it runs (default ``sleep infinity``).

    Returns:
        docker.models.containers.Container: running.
    """
    shared = lab.volume(volume)
    mode = "ro" if read_only else "rw"
    return lab.run(name, command, network="none",
                   volumes={shared.name: {"bind": MOUNT, "mode": mode}})


def _mount(container) -> dict | None:
    return next((m for m in container.attrs.get("Mounts") or []
                 if m.get("Destination") == MOUNT and m.get("Type") == "volume"), None)


def shared_volume(lab, first, second) -> str:
    """The Docker name of the volume two lab containers both mount at :data:`MOUNT`.

    Raises:
        LabError: they do not share one there (the message says how to fix it).
    """
    mounts = {name: _mount(lab.get_container(name)) for name in (first, second)}
    missing = [name for name, mount in mounts.items() if mount is None]
    if missing:
        raise LabError(f"{' and '.join(missing)} mount{'s' if len(missing) == 1 else ''} no volume "
                       f"at {MOUNT}: start both with ipc.isolated(lab, NAME, VOLUME).")
    if mounts[first]["Name"] != mounts[second]["Name"]:
        raise LabError(f"{first} and {second} mount different volumes at {MOUNT}: give both the "
                       "same volume name.")
    return mounts[first]["Name"]


def _writable(lab, name) -> None:
    if not _mount(lab.get_container(name)).get("RW"):
        raise LabError(f"{name} mounts {MOUNT} read-only: it cannot create or write files there.")


def via_file(lab, sender, receiver, message: str, name: str = MESSAGE_FILE) -> Exchange:
    """``sender`` writes ``message`` to a file on the volume, then ``receiver`` reads it.

    The file is written under a temporary name and renamed, so a reader never sees
    half of it (a rename is atomic on one file system).
    """
    path, message = volume_path(name), check_message(message)
    shared_volume(lab, sender, receiver)
    _writable(lab, sender)
    start = time.perf_counter()
    wrote = lab.exec(sender, ["sh", "-c", 'printf %s "$1" > "$2.tmp" && mv "$2.tmp" "$2"', "sh",
                              message, path], timeout=EXCHANGE_TIMEOUT_S)
    read = exec_heard(lab, receiver, ["cat", path], timeout=EXCHANGE_TIMEOUT_S)
    problem = "" if wrote.ok and read.ok else (wrote.output if not wrote.ok else read.output)
    return Exchange("file", sender, receiver, path, message, read.stdout if read.ok else "",
                    message, time.perf_counter() - start, problem[:300])


def via_fifo(lab, sender, receiver, message: str, name: str = FIFO) -> Exchange:
    """``sender`` writes ``message`` into a FIFO on the volume while ``receiver`` reads it.

    The FIFO is made (``mkfifo``) if it is not there. The reader starts first, in a
    thread; each side's ``open()`` waits for the other side, so the order does not
    matter, and each side gives up after :data:`EXCHANGE_TIMEOUT_S`.
    """
    path, message = volume_path(name), check_message(message)
    shared_volume(lab, sender, receiver)
    _writable(lab, receiver)
    lab.exec(receiver, ["sh", "-c", '[ -p "$1" ] || { rm -f "$1" && mkfifo "$1"; }', "sh", path],
             timeout=5).expect_success()
    got = {}
    reader = threading.Thread(target=lambda: got.update(
        read=lab.exec(receiver, ["cat", path], timeout=EXCHANGE_TIMEOUT_S)), daemon=True)
    start = time.perf_counter()
    reader.start()
    wrote = lab.exec(sender, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", message, path],
                     timeout=EXCHANGE_TIMEOUT_S)
    reader.join(EXCHANGE_TIMEOUT_S + 5)
    read = got.get("read")
    received = read.stdout if read is not None and read.ok else ""
    problem = "" if wrote.ok and received else (wrote.output if not wrote.ok else
                                                 (read.output if read else "the reader hung"))
    return Exchange("fifo", sender, receiver, path, message, received, message,
                    time.perf_counter() - start, problem[:300])


def serve(lab, container, name: str = SOCKET) -> None:
    """Start :data:`SOCKET_SERVICE` in ``container``, listening on a socket on the volume.

    Like ``docker exec -d CONTAINER python3 -c "$SERVICE" /shared/app.sock``. A service
    that runs there already is stopped first, so re-running the cell starts one. Returns
    once the service accepts connections.

    Raises:
        LabError: the container mounts no volume at :data:`MOUNT`, mounts it read-only,
            or the service did not accept connections within :data:`READY_TIMEOUT_S`.
    """
    path = volume_path(name)
    target = lab.get_container(container)
    if _mount(target) is None:
        raise LabError(f"{container} mounts no volume at {MOUNT}: start it with "
                       "ipc.isolated(lab, NAME, VOLUME).")
    _writable(lab, container)
    lab.exec(container, ["pkill", "-f", _SERVICE_PATTERN], timeout=5)  # exit 1: none ran
    api = lab.client.api
    exec_id = api.exec_create(target.id, ["python3", "-c", SOCKET_SERVICE, path])["Id"]
    api.exec_start(exec_id, detach=True)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if lab.exec(container, ["nc", "-U", "-z", path], timeout=5).ok:
            return
        state = api.exec_inspect(exec_id)
        if not state.get("Running") and state.get("ExitCode") not in (None, 0):
            break
        time.sleep(0.1)
    raise LabError(f"the socket service in {container} did not accept connections on {path} "
                   f"within {READY_TIMEOUT_S} s.")


def via_socket(lab, client, server, request: str, name: str = SOCKET) -> Exchange:
    """``client`` connects to the socket ``server`` listens on, sends one line, reads the answer.

    Like ``printf '%s\\n' REQUEST | nc -U -N /shared/app.sock`` in ``client`` (``-N``
    closes the sending half after the line, so the service knows the request is
    whole). Start the service first with :func:`serve`.
    """
    path, request = volume_path(name), check_message(request, one_line=True)
    shared_volume(lab, client, server)
    hostname = exec_heard(lab, server, ["hostname"]).expect_success().stdout
    start = time.perf_counter()
    # The service keeps no state: sending the request again when the answer was lost is safe.
    answer = exec_heard(lab, client, ["sh", "-c", 'printf "%s\\n" "$1" | nc -U -N "$2"', "sh",
                                      request, path], timeout=EXCHANGE_TIMEOUT_S)
    return Exchange("socket", client, server, path, request, answer.stdout if answer.ok else "",
                    service_reply(request, hostname), time.perf_counter() - start,
                    "" if answer.ok else answer.output[:300])


def listing(lab, container) -> pd.DataFrame:
    """What lies on the shared volume, seen from ``container``: name, type, size."""
    result = heard(lab.exec(container, ["find", MOUNT, "-mindepth", "1", "-maxdepth", "1",
                                        "-exec", "stat", "-c", "%n|%F|%s", "{}", "+"],
                            timeout=5), attempts=2)  # empty is possible: ask once more
    if not result.ok:
        raise LabError(f"listing {MOUNT} in {container} failed: {result.output[:200]}")
    return parse_listing(result.stdout)


def _lab_volumes(lab) -> list:
    return [v for v in lab.client.volumes.list(filters={"label": label_filters(lab.learner,
                                                                                lab.lesson)})
            if owned_by(v.attrs.get("Labels"), lab.learner, lab.lesson)]


def volumes(lab) -> pd.DataFrame:
    """This lesson's lab volumes: name, Docker's name, driver, where the data lives on the
    Docker host, the learner and lesson its labels name (``dockernet.learner``,
    ``dockernet.lesson``), and the containers that mount it (read-write or read-only).

    Example:

        >>> _ = isolated(lab, "box", "shared")
        >>> volumes(lab)[["volume", "driver", "used_by"]]
           volume driver   used_by
        0  shared  local  box (rw)
    """
    users = {}
    for container in lab.containers():
        for mount in container.attrs.get("Mounts") or []:
            users.setdefault(mount.get("Name"), []).append(
                f"{lab.short_name(container)} ({'rw' if mount.get('RW') else 'ro'})")
    rows = []
    for volume in _lab_volumes(lab):
        labels = volume.attrs.get("Labels") or {}
        if labels.get(ROLE):
            continue  # the lab's own bookkeeping (e.g. a host-port claim), not the lesson's
        rows.append({"volume": labels.get(SHORT_NAME, volume.name), "docker_name": volume.name,
                     "driver": volume.attrs.get("Driver"),
                     "mountpoint": volume.attrs.get("Mountpoint"),
                     "learner": labels.get(LEARNER), "lesson": labels.get(LESSON),
                     "used_by": ", ".join(sorted(users.get(volume.name, [])))})
    return pd.DataFrame(rows, columns=["volume", "docker_name", "driver", "mountpoint",
                                       "learner", "lesson", "used_by"])
