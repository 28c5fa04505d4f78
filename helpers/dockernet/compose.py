"""Compose projects of one's own: a learner's ``compose.yaml``, run with ``docker compose``.

The lab writes two files per project into a folder of its own
(``<tmp>/dockernet-compose/<learner>/<lesson>/<stack>/``): ``compose.yaml``, the file
a learner reads, and ``compose.lab.yaml``, an override that adds what the lab needs
to every object Compose creates: the lab's labels (so ``lab.cleanup()`` finds
containers, networks and volumes), a subnet from the lab pool for each network
(Docker's default pools hold about 31 networks, a classroom's worth of minutes), and
the lab's run flags (``init``, ``dns 127.0.0.1``, ``pull_policy: never``: only the lab
image, never a pull). The project name is per learner and lesson,
``dn-<learner>-<NN>-<stack>``, so thirty learners run the same stack on one daemon.

Compose itself runs as the docker CLI's plugin (``docker compose``, Compose v2), in a
subprocess that inherits ``DOCKER_HOST``: the same daemon the lab talks to. Where it
is missing, :func:`version` is ``""`` and every call explains instead of failing
(:class:`NotRun`); ``DOCKERNET_COMPOSE`` names another command, or ``none`` to try the
path without it.

>>> from dockernet import compose
>>> hello = compose.Project(lab, "demo", {"web": compose.hello_service(lab)})
>>> hello.name.startswith(f"dn-{lab.learner}-"), hello.name.endswith("-demo")
(True, True)
>>> hello.up().ok, hello.container_name("web") == hello.name + "-web-1"
(True, True)
>>> hello.down().ok
True
"""

from __future__ import annotations

import functools
import html
import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import addressing, probe
from .composeviews import PROJECT_LABEL, SERVICE_LABEL, ProjectViews  # noqa: F401 (re-exported)
from .errors import LabError
from .lab import HELLO_COMMAND, HELLO_PORT, LOCAL_ONLY_DNS, LOCAL_ONLY_DNS_OPTIONS, READY_TIMEOUT_S
from .naming import docker_name, lab_labels

FILE, OVERRIDE = "compose.yaml", "compose.lab.yaml"
#: ``up`` may wait for health checks; a classroom's daemon is slow. Bounded all the same.
UP_TIMEOUT_S, DOWN_TIMEOUT_S = 180, 90
#: How a learner gets Compose v2 where ``docker compose version`` does not answer.
HOW_TO_GET = (
    "Compose v2 is missing here: `docker compose version` does not answer. Docker Desktop and "
    "Docker's own packages (docker-ce with docker-compose-plugin) include it. With Debian 12's "
    "docker.io, Debian sid's docker-compose 2.40 package (one static binary) works: run "
    "`sudo .ci/install-compose` in this course's folder. Then restart the kernel.")
_SAFE_STACK = "abcdefghijklmnopqrstuvwxyz0123456789-"


@functools.lru_cache(maxsize=4)
def _version_of(command: str) -> str:
    if command.strip().lower() in ("", "none"):
        return ""
    try:
        done = subprocess.run([*shlex.split(command), "version", "--short"], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip()[:1] == "2" else ""


def command() -> list[str]:
    """The Compose command line: ``docker compose``, or ``DOCKERNET_COMPOSE``."""
    return shlex.split(os.environ.get("DOCKERNET_COMPOSE") or "docker compose")


def version() -> str:
    """Compose v2's version (``"2.40.3-3"``), or ``""`` where it is missing."""
    return _version_of(os.environ.get("DOCKERNET_COMPOSE") or "docker compose")


@dataclass
class NotRun:
    """What a cell would have run, where Compose is missing: it explains, and passes."""

    what: str
    ok = None

    def expect_success(self, contains: str | None = None) -> "NotRun":
        return self

    expect_failure = expect_success

    def __str__(self) -> str:
        return f"not run: {self.what}. {HOW_TO_GET}"

    def _repr_html_(self) -> str:
        return f"<div style='color:#8a5a00'>&#9888; {html.escape(str(self))}</div>"


@dataclass
class ComposeRun:
    """One ``docker compose`` command the lab ran: its exact line, exit code and output."""

    argv: list
    returncode: int
    output: str
    directory: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        return f"$ {shlex.join(self.argv)}\n{self.output}\n-> exit {self.returncode}"

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.ok else "#b42318"
        return (f"<div style='font-family:monospace'><b>$</b> {html.escape(shlex.join(self.argv))}"
                f"<pre style='margin:2px 0'>{html.escape(self.output)}</pre><span style='color:"
                f"{colour}'>&#9679; exit {self.returncode}</span></div>")


@dataclass
class Project(ProjectViews):
    """One learner's Compose project: its files, its name, and what Compose made of it.

    Args:
        lab (dockernet.Lab): whose project it is.
        stack (str): the learner's short name for it, e.g. ``"hello"`` (letters, digits, ``-``).
        services (dict): the ``services:`` of ``compose.yaml``, as Compose reads them.
        networks (dict): its top-level ``networks:`` (``None`` values are fine).
        volumes (dict): its top-level ``volumes:``.
    """

    lab: object
    stack: str
    services: dict
    networks: dict = field(default_factory=dict)
    volumes: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.stack or len(self.stack) > 20 or set(self.stack) - set(_SAFE_STACK) \
                or self.stack[0] == "-":
            raise LabError(f"stack name {self.stack!r} is not usable: Compose project names take "
                           "lower-case letters, digits and '-' (up to 20 here), e.g. 'shop'.")
        if not self.services:
            raise LabError(f"stack {self.stack!r} has no services: give at least one, e.g. "
                           "{'web': compose.hello_service(lab)}.")
        self.name = docker_name(self.lab.learner, self.lab.lesson, self.stack)
        self.directory = (Path(tempfile.gettempdir()) / "dockernet-compose" / self.lab.learner
                          / self.lab.lesson / self.stack)
        self.write()

    # -- the files ------------------------------------------------------------------------

    def document(self) -> dict:
        """``compose.yaml`` as a dictionary: what a learner writes."""
        doc = {"services": self.services}
        if self.networks:
            doc["networks"] = self.networks
        if self.volumes:
            doc["volumes"] = self.volumes
        return doc

    def override(self, subnets: dict | None = None) -> dict:
        """``compose.lab.yaml``: the lab's labels and flags on every object, and subnets."""
        services = {}
        for service, spec in self.services.items():
            extra = {"labels": self._labels(f"{self.stack}-{service}-1"), "init": True,
                     "pull_policy": "never"}
            if "network_mode" not in spec:  # a shared namespace takes the owner's DNS
                extra.update(dns=LOCAL_ONLY_DNS, dns_opt=LOCAL_ONLY_DNS_OPTIONS)
            services[service] = extra
        networks = {}
        for net in self.own_networks():
            networks[net] = {"labels": self._labels(f"{self.stack}_{net}")}
            if subnets and net in subnets:
                networks[net]["ipam"] = {"config": [{"subnet": subnets[net]}]}
        doc = {"services": services, "networks": networks}
        if self.volumes:
            doc["volumes"] = {v: {"labels": self._labels(f"{self.stack}_{v}")} for v in self.volumes}
        return {key: value for key, value in doc.items() if value}

    def _labels(self, short: str) -> dict:
        return lab_labels(self.lab.learner, self.lab.lesson, self.lab.session, short)

    def own_networks(self) -> list[str]:
        """The networks Compose creates for this project (``default`` when a service uses it)."""
        nets = [n for n, spec in self.networks.items() if not (spec or {}).get("external")]
        uses_default = any("networks" not in s and "network_mode" not in s
                           for s in self.services.values())
        return (["default"] if uses_default and "default" not in nets else []) + nets

    def write(self, subnets: dict | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / FILE).write_text(to_yaml(self.document()))
        (self.directory / OVERRIDE).write_text(
            "# Written by the lab: its labels, flags and subnets on everything Compose creates.\n"
            + to_yaml(self.override(subnets)))

    def show(self, which: str = FILE):
        """A file of the project, as Markdown (``compose.yaml`` or ``compose.lab.yaml``)."""
        from IPython.display import Markdown

        return Markdown(f"`{self.directory / which}`\n\n```yaml\n"
                        f"{(self.directory / which).read_text()}```")

    # -- running Compose --------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return bool(version())

    @staticmethod
    def _not_run(what: str) -> NotRun:
        return NotRun(what)

    def cli(self, *args: str) -> list[str]:
        """The real command line the lab runs (in :attr:`directory`)."""
        return [*command(), "--ansi", "never", "-p", self.name, "-f", FILE, "-f", OVERRIDE, *args]

    def compose(self, *args: str, timeout: float = UP_TIMEOUT_S):
        """Run ``docker compose ARGS`` for this project; :class:`NotRun` without Compose."""
        argv = self.cli(*args)
        if not self.available:
            return NotRun(shlex.join(argv))
        try:
            done = subprocess.run(argv, cwd=self.directory, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return ComposeRun(argv, 124, f"stopped after {timeout:g} s: {exc.stderr or ''}",
                              str(self.directory))
        text = "\n".join(p for p in (done.stdout.strip("\n"), done.stderr.strip("\n")) if p)
        return ComposeRun(argv, done.returncode, text, str(self.directory))

    def up(self, *args: str):
        """``docker compose up -d``, each network on a free subnet of the lab pool.

        Another learner may take a subnet between the look and Compose's create: the
        project is then taken down and tried again on others (5 times at most).
        """
        if not self.available:
            return NotRun(shlex.join(self.cli("up", "-d", *args)))
        tried: list = []
        for _ in range(5):
            subnets = self._free_subnets(tried)
            self.write(subnets)
            run = self.compose("up", "-d", *args)
            if run.ok:
                self._wait_for_servers()
            if run.ok or "overlap" not in run.output.lower():
                return run
            tried += [addressing.parse_subnet(s) for s in subnets.values()]
            self.compose("down", timeout=DOWN_TIMEOUT_S)
        return run

    def _wait_for_servers(self) -> None:
        """Wait (bounded) until each hello server answers inside its container, as
        ``lab.hello_server`` does: a running container is not yet a listening server, and the
        next cell's curl must not race it. Servers started with a ``delay`` or a ``gate`` are left
        alone."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        for service, spec in self.services.items():
            script = (spec.get("command") or ["", "", ""])[-1]
            if "http.server" not in str(script) or str(script).startswith(("sleep ", "until ")):
                continue
            url = f"http://127.0.0.1:{spec['environment']['PORT']}/"
            while time.monotonic() < deadline:
                try:
                    if probe.curl(self.container(service), url, timeout=1).ok:
                        break
                except LabError:
                    break  # it stopped: ps and the claims say so
                time.sleep(0.2)

    def _free_subnets(self, tried: list) -> dict:
        # A network Compose made before keeps its subnet: a changed one would make Compose
        # recreate the network (and stop its containers) on every `up`.
        taken = addressing.docker_subnets(self.lab.client)
        have = {owner: net for owner, net in taken if owner.startswith(self.name + "_")}
        busy = [net for owner, net in taken if owner not in have]
        busy += [route for route in addressing.host_routes() if route not in have.values()]
        subnets = {}
        for net in self.own_networks():
            chosen = have.get(self.network_name(net))
            if chosen is None or chosen in tried:
                chosen = addressing.first_free(self.lab.pool, addressing.DEFAULT_PREFIX, busy,
                                               start_key=self.lab.learner, skip=tried)
            subnets[net] = str(chosen)
            busy.append(chosen)
        return subnets

    def down(self, *args: str):
        """``docker compose down``: the project's containers and networks go (volumes with ``-v``)."""
        return self.compose("down", *args, timeout=DOWN_TIMEOUT_S)


# -- the services of lesson 13 -----------------------------------------------------------------


def hello_service(lab, message: str = "Hello Docker!", port: int = HELLO_PORT,
                  delay: float = 0, gate: str | None = None, **spec) -> dict:
    """The hello server of lessons 01-02 as a Compose service; ``spec`` adds keys.

    ``delay`` seconds pass before it listens, like a database that takes its time to
    start. With ``gate`` (a path in the container) it listens only once that file exists:
    a start that ends when the lab says so (``docker compose exec db touch FILE``), however
    busy the host is. ``$`` is doubled: Compose would read ``$MESSAGE`` as a variable of
    its own.
    """
    if gate is not None and not re.fullmatch(r"/[\w./-]+", gate):
        raise LabError(f"gate {gate!r} is not an absolute path of letters, digits, '.', '_', "
                       "'-' and '/': use one like '/tmp/replayed'.")
    script = (f"sleep {delay:g} && " if delay else "") + \
        (f"until [ -e {gate} ]; do sleep 0.2; done && " if gate else "") + HELLO_COMMAND
    return {"image": lab.image, "command": ["sh", "-c", script.replace("$", "$$")],
            "environment": {"MESSAGE": message, "PORT": str(port)}, **spec}


def idle_service(lab, needs: str | None = None, **spec) -> dict:
    """A client that waits (``sleep infinity``) for a learner's commands.

    Args:
        needs (str): a URL it fetches once as it starts, and exits (curl's code) when that
            fails: an application that needs its database at start.
    """
    command = ["sleep", "infinity"]
    if needs:
        command = ["sh", "-c", f"curl -sS --max-time 3 {needs} && exec sleep infinity"]
    return {"image": lab.image, "command": command, **spec}


def http_healthcheck(port: int, retries: int = 30) -> dict:
    """A health check that fetches ``/`` on ``port`` inside the container, once a second."""
    return {"test": ["CMD", "curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{port}/"],
            "interval": "1s", "timeout": "2s", "retries": retries}


def to_yaml(document: dict) -> str:
    """YAML as people write compose files: keys in order, short lists on one line.

    >>> print(to_yaml({"services": {"web": {"command": ["sleep", "infinity"]}}}), end="")
    services:
      web:
        command: [sleep, infinity]
    """
    class Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper, data):
        flow = all(isinstance(item, (str, int)) for item in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    Dumper.add_representer(list, represent_list)
    Dumper.ignore_aliases = lambda self, data: True  # no &id001 anchors: write each value out
    return yaml.dump(document, Dumper=Dumper, sort_keys=False, width=1000, allow_unicode=True)


def remove_files(learner: str | None, lesson: str | None) -> None:
    """Remove the project folders the lab wrote for a learner (and lesson); nothing else."""
    import shutil

    base = Path(tempfile.gettempdir()) / "dockernet-compose"
    if learner is None:
        return  # every learner's cleanup (`clean --all-learners`): their folders stay theirs
    target = base / learner / lesson if lesson else base / learner
    shutil.rmtree(target, ignore_errors=True)
    for emptied in (base / learner, base):  # and the folders above, once nothing is left in them
        try:
            emptied.rmdir()
        except OSError:
            break


def after_cleanup(client, learner: str | None, lesson: str | None) -> None:
    """Cleanup hook (:data:`dockernet.cleanup.AFTER_OBJECTS`): the objects are gone, so the
    project folders go too."""
    remove_files(learner, lesson)


__all__ = ["Project", "ComposeRun", "NotRun", "version", "command", "hello_service",
           "idle_service", "http_healthcheck", "to_yaml", "HOW_TO_GET"]
