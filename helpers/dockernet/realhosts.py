"""Real Docker hosts for the cross-host lesson: ``Lab("10-across-hosts", hosts=[...])``.

Each host is a docker context name (``docker context ls``), ``ssh://[user@]host[:port]``
or ``tcp://host:port``. :func:`parse_hosts` checks the list before anything is made or
contacted: bad input is one :class:`~dockernet.LabError` naming every bad entry and how
to write it. :meth:`RealHost.client` connects when a lesson needs the engine.

>>> parse_hosts(["ssh://alice@node-a", "node-b"])[1]
RealHost(spec='node-b', kind='context', url=None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import docker

from .errors import LabError


@dataclass(frozen=True)
class RealHost:
    """A real machine's Docker engine: a docker context name or an ``ssh://``/``tcp://`` URL."""

    spec: str
    kind: str
    url: str | None

    def client(self):
        """A docker SDK client for it (a context is resolved with docker-py's ContextAPI)."""
        if self.kind == "context":
            from docker.context import ContextAPI

            found = ContextAPI.get_context(self.spec)
            if found is None:
                raise LabError(f"docker context {self.spec!r} does not exist here: "
                               "`docker context ls` lists them.")
            return docker.DockerClient(base_url=found.Host, tls=found.TLSConfig)
        return docker.DockerClient(base_url=self.url, use_ssh_client=self.kind == "ssh")


_CONTEXT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$")
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$")


def parse_hosts(entries) -> list[RealHost]:
    """Check a ``hosts=[...]`` list; nothing is contacted.

    Args:
        entries: two or more distinct strings, each a docker context name (``node-b``),
            ``ssh://[user@]host[:port]`` or ``tcp://host:port``.

    Returns:
        list of RealHost, in order (the first is the swarm's manager).

    Raises:
        LabError: one message naming every bad entry and the fix.

    >>> parse_hosts(["tcp://10.0.0.5:2376", "ssh://bob@node-b:2222"])[0].kind
    'tcp'
    >>> parse_hosts(["node-a"])                    # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: hosts=['node-a']: give at least two hosts...
    """
    example = ("e.g. hosts=['ssh://alice@node-a', 'ssh://alice@node-b'] or two names from "
               "`docker context ls`")
    if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
        raise LabError(f"hosts={entries!r}: give a list of hosts, {example}.")
    if len(entries) < 2:
        raise LabError(f"hosts={list(entries)!r}: give at least two hosts (the overlay goes "
                       f"across hosts), {example}.")
    problems, parsed = [], []
    for entry in entries:
        found = _parse_one(entry)
        (problems if isinstance(found, str) else parsed).append(found)
    seen = [host.spec for host in parsed]
    problems += [f"{spec!r} is listed twice" for spec in sorted(set(seen)) if seen.count(spec) > 1]
    if problems:
        raise LabError(f"hosts=[...] is not usable: {'; '.join(problems)}. Each host is a docker "
                       f"context name, ssh://[user@]host[:port] or tcp://host:port, {example}.")
    return parsed


def _parse_one(entry) -> RealHost | str:
    """A RealHost, or a string saying what is wrong with ``entry``."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not a host name"
    if "://" not in entry:
        return RealHost(entry, "context", None) if _CONTEXT.match(entry) else \
            f"{entry!r} is neither a context name nor a URL"
    parts = urlsplit(entry)
    kind = parts.scheme
    if kind not in ("ssh", "tcp"):
        return f"{entry!r}: {kind}:// is not a remote engine (use ssh:// or tcp://)"
    try:
        port = parts.port
    except ValueError:
        return f"{entry!r} has a bad port"
    if not parts.hostname or not _HOSTNAME.match(parts.hostname) or parts.path not in ("", "/"):
        return f"{entry!r} has no usable host name"
    if kind == "tcp" and port is None:
        return f"{entry!r} needs a port (2376 with TLS)"
    if kind == "tcp" and parts.username:
        return f"{entry!r}: tcp:// takes no user (that is ssh://)"
    return RealHost(entry, kind, entry.rstrip("/"))
