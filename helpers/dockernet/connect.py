"""Finding the Docker daemon the way a user expects, and saying how to fix it.

Order: ``DOCKER_HOST``; then the docker CLI's context (``DOCKER_CONTEXT``, else
``currentContext`` in ``~/.docker/config.json``); then the default socket.
Every failure becomes :class:`~dockernet.errors.DockerUnavailable` with a fix,
including a daemon that goes away in the middle of a lesson (restarted, crashed,
Docker Desktop quit): the client :func:`get_client` returns turns a lost
connection into the same one clear message instead of a traceback through
requests and urllib3.

>>> from dockernet.connect import get_client
>>> client = get_client()
>>> client.version()["ApiVersion"] >= "1.41"
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import docker
import requests
import urllib3
from docker.context import ContextAPI
from docker.utils import kwargs_from_env

from .errors import DockerUnavailable

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
#: Docker Engine 20.10 speaks API 1.41: the oldest engine the lessons were checked on.
MIN_API_VERSION = (1, 41)
#: What a daemon that stopped, crashed or lost its socket looks like from the client side.
#: Builtin ConnectionError covers refused, reset, aborted and broken-pipe sockets.
LOST_CONNECTION_ERRORS = (requests.exceptions.ConnectionError,
                          requests.exceptions.ChunkedEncodingError,
                          urllib3.exceptions.ProtocolError, ConnectionError)
RERUN_HINT = " Then re-run the lesson from the top: its first cell puts everything back."


@dataclass(frozen=True)
class DaemonAddress:
    """Where the daemon is and how we learned it."""

    base_url: str
    source: str  # "DOCKER_HOST", "context 'NAME'" or "default socket"
    tls: object = None

    @property
    def socket_path(self) -> str | None:
        """The Unix socket's path, or ``None`` for a TCP/SSH daemon."""
        if self.base_url.startswith("unix://"):
            return urlparse(self.base_url).path
        return None


def find_daemon(environ: dict | None = None) -> DaemonAddress:
    """Resolve the daemon address without contacting it.

    Args:
        environ (dict): the environment to read (default: ``os.environ``).

    Raises:
        DockerUnavailable: the chosen CLI context does not exist.
    """
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        # docker-py's own reading of DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
        params = kwargs_from_env(environment=env)
        return DaemonAddress(params["base_url"], "DOCKER_HOST", params.get("tls"))
    name = env.get("DOCKER_CONTEXT") or _current_context_name()
    if name and name != "default":
        context = ContextAPI.get_context(name)
        if context is None:
            raise DockerUnavailable(
                f"The docker CLI's current context {name!r} does not exist. "
                "Fix: `docker context ls` to see the contexts, then `docker context use default` "
                "(or the one you want), or set DOCKER_HOST."
            )
        if context.Host:
            return DaemonAddress(context.Host, f"context {name!r}", context.TLSConfig)
    return DaemonAddress(DEFAULT_SOCKET, "default socket")


def _current_context_name() -> str | None:
    # docker-py reads ~/.docker/config.json (and DOCKER_CONFIG) the same way the CLI does.
    from docker.context.config import get_current_context_name

    return get_current_context_name()


class GuardedAPIClient(docker.APIClient):
    """A docker SDK low-level client that reports a lost daemon as :class:`DockerUnavailable`.

    Every request goes through :meth:`send`, and non-streamed exec output through
    :meth:`_read_from_socket`; both turn a dropped or refused connection into the
    diagnosis :func:`diagnose` gives for a missing daemon.

    Args:
        address (DaemonAddress): where the daemon is, for the message.
        **kwargs: as for ``docker.APIClient``.
    """

    def __init__(self, address: "DaemonAddress", **kwargs):
        self.address = address
        #: Has the daemon answered yet? After that, a lost connection happened "midway".
        self.answered = False
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        try:
            response = super().send(request, **kwargs)
        except LOST_CONNECTION_ERRORS as exc:
            raise diagnose(exc, self.address, midway=self.answered) from None
        self.answered = True
        return response

    def _read_from_socket(self, response, stream, tty=True, demux=False):
        try:
            return super()._read_from_socket(response, stream, tty=tty, demux=demux)
        except LOST_CONNECTION_ERRORS as exc:
            raise diagnose(exc, self.address, midway=True) from None


class GuardedClient(docker.DockerClient):
    """``docker.DockerClient`` over a :class:`GuardedAPIClient`."""

    def __init__(self, address: "DaemonAddress", **kwargs):
        # DockerClient.__init__ only builds its APIClient; build ours instead.
        self.api = GuardedAPIClient(address, **kwargs)


def get_client(environ: dict | None = None, timeout: int = 120) -> docker.DockerClient:
    """A docker SDK client for a daemon that answers and is new enough.

    If the daemon goes away later, the client's calls raise :class:`DockerUnavailable`
    (not a ``requests`` ConnectionError), with the fix and "re-run the lesson from the top".

    Args:
        environ (dict): the environment to read (default: ``os.environ``).
        timeout (int): seconds for each API call.

    Returns:
        docker.DockerClient: connected and checked with a ping.

    Raises:
        DockerUnavailable: with a one-paragraph diagnosis and fix.
    """
    address = find_daemon(environ)
    _check_socket_file(address)
    try:
        client = GuardedClient(address, base_url=address.base_url, tls=address.tls or False,
                               timeout=timeout, version="auto")
        client.ping()
    except DockerUnavailable:  # the guard already diagnosed it
        raise
    except Exception as exc:  # docker, requests and urllib3 errors surface in several shapes
        raise diagnose(exc, address) from None
    _check_api_version(client, address)
    return client


def _check_socket_file(address: DaemonAddress) -> None:
    path = address.socket_path
    if path is None or os.path.exists(path):
        return
    if address.source.startswith("context"):
        raise DockerUnavailable(
            f"The docker CLI's {address.source} points at {path}, which does not exist: the engine "
            "behind that context (Docker Desktop, colima, rootless dockerd) is not running. "
            "Fix: start it (`colima start`, open Docker Desktop, `systemctl --user start docker`), "
            "or switch with `docker context use default`."
        )
    raise DockerUnavailable(
        f"No Docker daemon: the socket {path} does not exist (found via {address.source}). "
        "Fix: install Docker Engine or Docker Desktop and start it (`sudo systemctl start docker`), "
        "or point DOCKER_HOST at a running daemon."
    )


def diagnose(exc: BaseException, address: DaemonAddress, midway: bool = False) -> DockerUnavailable:
    """Turn a low-level connection error into one clear :class:`DockerUnavailable`.

    Args:
        exc: what requests, urllib3 or the socket raised.
        address: the daemon that was asked.
        midway (bool): the client had worked before (a daemon that went away during a
            lesson): the message says so and ends with "re-run the lesson from the top".

    >>> address = DaemonAddress("unix:///var/run/docker.sock", "default socket")
    >>> print(diagnose(ConnectionRefusedError("[Errno 111] Connection refused"), address,
    ...                midway=True))  # doctest: +NORMALIZE_WHITESPACE
    The Docker daemon went away during the lesson (restarted, crashed or quit). No Docker daemon
    answers at unix:///var/run/docker.sock (found via default socket): the connection was refused.
    Fix: start Docker (`sudo systemctl start docker`, or open Docker Desktop); a stale socket file
    also gives this. Then re-run the lesson from the top: its first cell puts everything back.
    """
    message = _diagnosis(exc, address)
    if not midway:
        return message
    return DockerUnavailable("The Docker daemon went away during the lesson (restarted, crashed "
                             f"or quit). {message}{RERUN_HINT}")


def _diagnosis(exc: BaseException, address: DaemonAddress) -> DockerUnavailable:
    text = f"{type(exc).__name__}: {exc}"
    where = f"{address.base_url} (found via {address.source})"
    if "Permission denied" in text or isinstance(exc, PermissionError):
        return DockerUnavailable(
            f"Permission denied on the Docker socket {where}. Fix: add yourself to the docker group "
            "(`sudo usermod -aG docker $USER`, then log out and in, or `newgrp docker`), "
            "or use rootless Docker."
        )
    if "No such file" in text or "FileNotFoundError" in text:
        return DockerUnavailable(
            f"No Docker daemon at {where}: the socket is missing. "
            "Fix: start Docker (`sudo systemctl start docker`, or open Docker Desktop)."
        )
    if "Connection refused" in text or "ConnectionRefused" in text:
        return DockerUnavailable(
            f"No Docker daemon answers at {where}: the connection was refused. "
            "Fix: start Docker (`sudo systemctl start docker`, or open Docker Desktop); a stale "
            "socket file also gives this."
        )
    return DockerUnavailable(
        f"The Docker daemon at {where} cannot be used ({text.splitlines()[0][:200]}). "
        "Fix: check that `docker info` works in a terminal; if it does not, start Docker."
    )


def _check_api_version(client: docker.DockerClient, address: DaemonAddress) -> None:
    problem = api_version_problem(client.version(), address.base_url)
    if problem:
        client.close()
        raise DockerUnavailable(problem)


def api_version_problem(version: dict, where: str) -> str | None:
    """Why an engine's ``docker version`` answer is too old for the lessons, or ``None``.

    >>> api_version_problem({"ApiVersion": "1.41", "Version": "20.10.24"}, "x") is None
    True
    >>> "upgrade" in api_version_problem({"ApiVersion": "1.40", "Version": "19.03"}, "x")
    True
    """
    api = tuple(int(part) for part in str(version.get("ApiVersion", "0.0")).split(".")[:2])
    if api >= MIN_API_VERSION:
        return None
    return (f"The engine at {where} speaks Docker API {version.get('ApiVersion')} "
            f"(engine {version.get('Version')}); the lessons need API "
            f"{'.'.join(map(str, MIN_API_VERSION))} (Docker 20.10) or newer. "
            "Fix: upgrade Docker Engine or Docker Desktop.")
