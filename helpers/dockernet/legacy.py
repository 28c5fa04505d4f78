"""The old ways containers found each other: ``--link``, ``/etc/hosts`` and ``--add-host``.

Before user-defined networks (Docker 1.9, 2015), a container on the default bridge found
another one through a *link*: ``docker run --link helloworld:db`` writes a line for
``helloworld`` into the new container's ``/etc/hosts`` and, up to Docker 28, sets
``DB_PORT_8000_TCP_ADDR`` and friends in its environment. This module runs links the lab's
way (learners type short names, the daemon knows the namespaced ones), reads ``/etc/hosts``
and the link variables as tables, and stops, starts and restarts containers as the docker
CLI does, showing Docker's answer instead of raising when Docker refuses: a broken link is
what lesson 04 is about.

>>> server = lab.hello_server("helloworld", ports=expose(8000))
>>> client = lab.run("client", links=links(lab, {"helloworld": "db"}))
>>> table = hosts(lab, "client")
>>> line = table[table["written by"] == "Docker: --link helloworld:db"].iloc[0]
>>> line["names"][:2], line["address"] == lab.ip("helloworld")
(['db', 'helloworld'], True)
>>> lab.curl("client", "http://db:8000").output
'Hello Docker!'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import docker
import pandas as pd

from . import engines
from .checks import container_or_none
from .errors import ExpectationFailed, LabError
from .probe import ProbeResult, run

#: The engine version that stopped setting link variables (moby PR #50719, commit d2e0895b).
LINK_ENV_REMOVED = (29, 0, 0)
#: Set in the *daemon's* environment, it brings the link variables back on 29 (until 30).
KEEP_LINK_ENV = "DOCKER_KEEP_DEPRECATED_LEGACY_LINKS_ENV_VARS"
#: The names Docker writes for loopback and the IPv6 multicast addresses in every file.
STANDARD_NAMES = {"localhost", "ip6-localhost", "ip6-loopback", "ip6-localnet",
                  "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters"}
BY_HAND = "not Docker: by hand?"
PROGRAM, EXEC = "the program (PID 1)", "a new docker exec"
#: What Docker says when a link's target is not running (exec, start, restart).
NOT_RUNNING = "Cannot link to a non running container"
#: Seconds ``docker stop`` waits before it kills; the lab's containers stop on SIGTERM at once.
STOP_TIMEOUT_S = 1


# -- running links the lab's way ------------------------------------------------------------


def expose(*ports: int) -> dict:
    """``--expose PORT``: ports the container declares without publishing them.

    docker-py has no ``expose`` argument; a port with an empty list of host bindings is
    exposed and published nowhere. Links turn every exposed port of their target into
    variables (``DB_PORT_8000_TCP_ADDR``...), so lesson 04's server exposes 8000.

    >>> expose(8000)
    {'8000/tcp': []}
    """
    return {f"{port}/tcp": [] for port in ports}


def links(lab, targets) -> dict:
    """docker-py's ``links`` for ``lab.run``: the learner's ``{short name: alias}`` with the
    real (namespaced) names Docker knows (``--link dn-alice-04-helloworld:db``).

    Args:
        targets (dict or list): ``{"helloworld": "db"}``; a name alone is its own alias.

    Raises:
        UnknownObject: no such container in this lesson.
        LabError: a target is not running (Docker could not link to it); nothing is made.
    """
    pairs = dict(targets) if isinstance(targets, dict) else {name: name for name in targets}
    real = {}
    for short, alias in pairs.items():
        target = lab.get_container(short)
        if target.status != "running":
            raise LabError(f"{short!r} is {target.status}: a link needs a running target. "
                           f"Start it first (legacy.start(lab, {short!r})).")
        real[target.name] = alias or short
    return real


def link_aliases(host_config_links) -> dict[str, str]:
    """``{target's real name: alias}`` from a container's ``HostConfig.Links``.

    >>> link_aliases(["/dn-a-04-helloworld:/dn-a-04-web/db", "/cache:/dn-a-04-web/cache"])
    {'dn-a-04-helloworld': 'db', 'cache': 'cache'}
    """
    found = {}
    for entry in host_config_links or []:
        target, _, linker_alias = entry.partition(":")
        found[target.lstrip("/")] = linker_alias.rsplit("/", 1)[-1]
    return found


# -- /etc/hosts as a table ------------------------------------------------------------------


def parse_hosts(text: str) -> pd.DataFrame:
    """The lines of an ``/etc/hosts`` text: ``address`` and ``names`` (comments dropped).

    >>> parse_hosts("127.0.0.1\\tlocalhost\\n# a comment\\n172.17.0.3\\tdb helloworld x\\n")
    ... # doctest: +NORMALIZE_WHITESPACE
         address                names
    0  127.0.0.1          [localhost]
    1 172.17.0.3  [db, helloworld, x]
    """
    rows = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            rows.append({"address": fields[0], "names": fields[1:]})
    return pd.DataFrame(rows, columns=["address", "names"])


def parse_extra_host(entry: str) -> tuple[str, str]:
    """``(name, address)`` of a ``HostConfig.ExtraHosts`` entry: ``name:address`` (older
    CLIs, docker-py) or ``name=address`` (newer CLIs); an IPv6 address has colons of its
    own, a name never does.

    >>> parse_extra_host("api:172.17.0.3"), parse_extra_host("v6=[2001:db8::1]")
    (('api', '172.17.0.3'), ('v6', '2001:db8::1'))
    """
    name, _, address = entry.partition("=") if "=" in entry else entry.partition(":")
    return name, address.strip("[]")


def who_wrote(table: pd.DataFrame, *, hostname: str, own_addresses, links_=None,
              extra_hosts=()) -> pd.DataFrame:
    """``table`` (of :func:`parse_hosts`) with a ``written by`` column: which option made
    Docker write each line, or ``not Docker: by hand?`` for a line no option explains.

    Args:
        hostname (str): the container's hostname.
        own_addresses: the container's own addresses.
        links_ (dict): ``{target: alias}``, the target as the learner calls it.
        extra_hosts: ``HostConfig.ExtraHosts`` (``"name:address"``).

    >>> table = parse_hosts("127.0.0.1 localhost\\n10.0.0.9 api\\n172.17.0.3 db hw dn-hw\\n"
    ...                     "172.17.0.4 web\\n172.17.0.9 hello.local")
    >>> who_wrote(table, hostname="web", own_addresses=["172.17.0.4"], links_={"hw": "db"},
    ...           extra_hosts=["api:10.0.0.9"])["written by"].tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Docker: localhost', 'Docker: --add-host', 'Docker: --link hw:db',
     'Docker: its own name', 'not Docker: by hand?']
    """
    own = set(own_addresses)
    extra = {parse_extra_host(entry) for entry in extra_hosts}
    by_alias = {alias: f"Docker: --link {target}:{alias}" for target, alias in (links_ or {}).items()}

    def origin(row) -> str:
        names = list(row["names"])
        if set(names) <= STANDARD_NAMES:
            return "Docker: localhost"
        if row["address"] in own and hostname in names:
            return "Docker: its own name"
        if names[0] in by_alias:
            return by_alias[names[0]]
        if len(names) == 1 and (names[0], row["address"]) in extra:
            return "Docker: --add-host"
        return BY_HAND

    out = table.copy()
    out["written by"] = [origin(row) for _, row in table.iterrows()] if len(table) else []
    return out


def hosts(lab, container) -> pd.DataFrame:
    """A container's ``/etc/hosts`` (``docker exec NAME cat /etc/hosts``) as a table:
    ``address``, ``names`` and ``written by`` (see :func:`who_wrote`).

    Raises:
        LabError: Docker refused to run a command in it (stopped, or a broken link).
    """
    target = lab.get_container(container)
    text = run(target, ["cat", "/etc/hosts"]).expect_success().stdout
    config, prefix = target.attrs["HostConfig"], lab.name("x")[:-1]  # "dn-<learner>-<lesson>-"
    networks = target.attrs["NetworkSettings"]["Networks"] or {}
    short = {real.removeprefix(prefix): alias
             for real, alias in link_aliases(config.get("Links")).items()}
    return who_wrote(parse_hosts(text), hostname=target.attrs["Config"].get("Hostname", ""),
                     own_addresses=[e.get(key) for e in networks.values()
                                    for key in ("IPAddress", "GlobalIPv6Address")], links_=short,
                     extra_hosts=config.get("ExtraHosts") or [])


# -- the link variables ---------------------------------------------------------------------


def sets_link_env(version: str | None) -> bool:
    """Whether an engine of ``version`` sets link variables by default (before 29.0).

    >>> sets_link_env("20.10.24+dfsg1"), sets_link_env("28.5.2"), sets_link_env("29.0.0")
    (True, True, False)
    """
    parsed = engines.parse_version(version)
    if parsed is None:
        raise LabError(f"cannot read the engine version {version!r}.")
    return parsed < LINK_ENV_REMOVED


def env_prefix(alias: str) -> str:
    """The prefix of a link's variables: the alias in capitals, ``-`` as ``_``.

    >>> env_prefix("my-db")
    'MY_DB_'
    """
    return alias.upper().replace("-", "_") + "_"


def parse_environ(text: str) -> dict[str, str]:
    """``NAME=value`` lines (or NUL-separated, as in ``/proc/1/environ``) as a dict.

    >>> parse_environ("DB_NAME=/web/db\\x00PATH=/bin\\nbroken")
    {'DB_NAME': '/web/db', 'PATH': '/bin'}
    """
    pairs = (item.partition("=") for item in re.split(r"[\x00\n]", text))
    return {name: value for name, sep, value in pairs if sep and name}


def link_variables(env: dict, aliases) -> dict[str, str]:
    """The variables of ``env`` that links to ``aliases`` set: ``ALIAS_NAME``,
    ``ALIAS_PORT...`` and ``ALIAS_ENV_...``.

    >>> link_variables({"DB_NAME": "/web/db", "DB_PORT": "tcp://172.17.0.3:8000",
    ...                 "DB_ENV_MESSAGE": "hi", "DB_OTHER": "x", "PATH": "/bin"}, ["db"])
    {'DB_ENV_MESSAGE': 'hi', 'DB_NAME': '/web/db', 'DB_PORT': 'tcp://172.17.0.3:8000'}
    """
    pattern = "|".join(re.escape(env_prefix(alias)) for alias in aliases) or "(?!)"
    return {name: env[name] for name in sorted(env)
            if re.fullmatch(rf"({pattern})(NAME|PORT|PORT_.+|ENV_.+)", name)}


def link_env(lab, container) -> pd.DataFrame:
    """The link variables of ``container``: as its program got them when it started
    (PID 1's environment) and as Docker computes them for each ``docker exec``.

    Returns:
        pandas.DataFrame: index ``variable``, columns :data:`PROGRAM` and :data:`EXEC`;
        no rows on an engine that sets none (29 and later).
    """
    target = lab.get_container(container)
    aliases = link_aliases(target.attrs["HostConfig"].get("Links")).values()
    program = run(target, "tr '\\0' '\\n' < /proc/1/environ").expect_success().stdout
    fresh = run(target, ["env"]).expect_success().stdout
    columns = {PROGRAM: link_variables(parse_environ(program), aliases),
               EXEC: link_variables(parse_environ(fresh), aliases)}
    table = pd.DataFrame(columns, columns=[PROGRAM, EXEC])
    table.index.name = "variable"
    return table.sort_index()


# -- what the docker CLI would answer ------------------------------------------------------


@dataclass
class DockerAnswer:
    """What the docker CLI prints for one command: Docker's words, and whether it worked."""

    command: str
    ok: bool
    said: str = ""
    address: str | None = None  #: for ``stop``: the address the container had before

    def expect_success(self) -> "DockerAnswer":
        """Raise :class:`ExpectationFailed` unless Docker did it."""
        if not self.ok:
            raise ExpectationFailed(f"expected `{self.command}` to work; Docker said: {self.said}")
        return self

    def expect_failure(self, contains: str | None = None) -> "DockerAnswer":
        """Raise :class:`ExpectationFailed` if Docker did it (or said something else)."""
        if self.ok or (contains and contains not in self.said):
            raise ExpectationFailed(f"expected Docker to refuse `{self.command}`"
                                    + (f" with {contains!r}" if contains else "")
                                    + f"; it said: {self.said or 'nothing (it worked)'}")
        return self

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.ok else "#b42318"
        return (f"<div style='font-family:monospace'><b>$</b> {html.escape(self.command)}"
                f"<pre style='margin:2px 0;color:{colour}'>{html.escape(self.said)}</pre></div>")


def _docker(lab, verb: str, container, action) -> DockerAnswer:
    target = lab.get_container(container)
    command = f"docker {verb} {lab.short_name(target)}"
    try:
        action(target)
    except docker.errors.APIError as exc:
        said = exc.explanation if isinstance(exc.explanation, str) else str(exc)
        return DockerAnswer(command, False, f"Error response from daemon: {said}")
    return DockerAnswer(command, True, lab.short_name(target))


#: The address each container had when :func:`stop` stopped it, by id: a stopped
#: container has none in ``docker inspect``, and a re-run of the cell must still know it.
_ADDRESS_BEFORE_STOP: dict[str, str] = {}


def stop(lab, container) -> DockerAnswer:
    """``docker stop NAME`` (one second before it kills). The answer's ``address`` is the
    one it had on the default bridge (or its first network) before it stopped."""
    target = lab.get_container(container)
    networks = target.attrs["NetworkSettings"]["Networks"] or {}
    endpoint = networks.get("bridge") or next(iter(networks.values()), {})
    if target.status == "running" and endpoint.get("IPAddress"):
        _ADDRESS_BEFORE_STOP[target.id] = endpoint["IPAddress"]
    answer = _docker(lab, "stop", target, lambda c: c.stop(timeout=STOP_TIMEOUT_S))
    answer.address = _ADDRESS_BEFORE_STOP.get(target.id)
    return answer


def start(lab, container) -> DockerAnswer:
    """``docker start NAME``; Docker's refusal comes back as the answer, not raised."""
    return _docker(lab, "start", container, lambda c: c.start())


def restart(lab, container) -> DockerAnswer:
    """``docker restart NAME``; Docker's refusal comes back as the answer, not raised."""
    return _docker(lab, "restart", container, lambda c: c.restart(timeout=STOP_TIMEOUT_S))


def try_exec(lab, container, command, timeout: float = 10) -> ProbeResult:
    """:meth:`Lab.exec`, but a command Docker refuses to start (a link whose target is not
    running) comes back as a failed result carrying Docker's words instead of raising."""
    target = lab.get_container(container)
    argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
    try:
        return run(target, command, timeout=timeout)
    except LabError as refused:
        if NOT_RUNNING not in str(refused):
            raise
    try:  # ask once more without the lab's wrapper, for Docker's own words
        target.exec_run(["true"])
    except docker.errors.APIError as exc:
        said = f"Error response from daemon: {exc.explanation or exc}"
        return ProbeResult(lab.short_name(target), argv, 1, said, 0.0, "", said,
                           rerun=lambda: try_exec(lab, container, command, timeout))
    return run(target, command, timeout=timeout)  # the target came back meanwhile


# -- a target that comes back somewhere else ---------------------------------------------


def start_elsewhere(lab, target, old_address: str, placeholder: str = "placeholder",
                    attempts: int = 3) -> pd.DataFrame:
    """Start the stopped ``target`` again at another address than ``old_address``.

    Docker gives a starting container the lowest free address of the bridge, so first
    ``placeholder`` (a lab container) takes the freed one. On a shared daemon another
    learner's container may have taken it already; ``target`` still comes back elsewhere.
    A ``target`` running at another address already is left alone (a re-run of the cell).

    Returns:
        pandas.DataFrame: the ``address`` of ``target`` before and now, and of each
        placeholder, with ``attrs["old"]`` and ``attrs["new"]``.

    Raises:
        LabError: ``target`` came back at ``old_address`` ``attempts`` times.
    """
    container = lab.get_container(target)
    holders = []
    for attempt in range(attempts + 1):
        container.reload()
        if container.status == "running" and lab.ip(container) != old_address:
            break
        if attempt == attempts:
            raise LabError(f"{target!r} came back at {old_address} {attempts} times: other "
                           "containers come and go too fast on this daemon. Run the cell again.")
        if container.status == "running":
            stop(lab, container).expect_success()
        holders.append(placeholder if attempt == 0 else f"{placeholder}{attempt + 1}")
        lab.run(holders[-1])
        start(lab, container).expect_success()
    holders = holders or [placeholder] * (container_or_none(lab, placeholder) is not None)
    name = lab.short_name(container)
    rows = {f"{name} before": old_address, **{holder: lab.ip(holder) for holder in holders},
            f"{name} now": lab.ip(container)}
    table = pd.DataFrame({"address": rows})
    table.attrs.update(old=old_address, new=lab.ip(container))
    return table


# -- why user-defined networks replaced all of this ------------------------------------------


#: Lesson 04's summary, row by row: ``--link``, a hand edit, ``--add-host``, a user network.
COMPARISON = {
    "works on": ("the default bridge only", "any network", "any network", "that network"),
    "both ways": ("no: one way, to a container that exists",
                  "only if you edit both", "only if you give both", "yes"),
    "target restarts at a new address": ("hosts line updated; variables (< 29) stay old",
                                         "stale", "stale", "DNS answers the new one"),
    "target removed and created again": ("broken: no exec, restart or start until recreated",
                                         "stale", "stale", "DNS answers the new container"),
    "survives its own container's restart": ("yes", "no: Docker rewrites the file", "yes", "yes"),
    "added to a running container": ("no: recreate it", "yes", "no: recreate it",
                                     "yes: docker network connect"),
    "status": ("legacy; variables deprecated 28.4, gone 29.0", "a workaround",
               "current, for names Docker does not know", "current; what Compose uses"),
}


def comparison() -> pd.DataFrame:
    """Lesson 04's summary: ``--link``, a hand edit, ``--add-host`` and a user-defined
    network, row by row (each row was shown live in the lesson).

    >>> comparison().loc["both ways", "user-defined network"]
    'yes'
    """
    return pd.DataFrame(COMPARISON, index=["--link", "/etc/hosts by hand", "--add-host",
                                           "user-defined network"]).T
