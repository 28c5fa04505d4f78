"""Docker hosts for the cross-host lesson: simulated ones on this machine, or real ones.

A **simulated host** is a Docker-in-Docker engine: a lab container (labelled like
every lab object, ``role="simulated-host"``) running ``dockerd``, with its
``/var/lib/docker`` on a lab volume (so the inner daemon uses overlay2, not vfs),
on a lab network that plays the LAN between machines, the **underlay**. The lab
drives each inner engine through ``docker exec HOST docker ...``, never through a
socket in a host folder, so the CLI lines a lesson shows are exactly what runs
(``docker exec dn-alice-10-host-a docker network ls``). Cleanup by label removes
the hosts, their volumes and the underlay, and everything inside them goes too.

Starting them: :func:`start` makes both at once, prints a line per step and
loads the lab image into each (``docker save | docker exec -i HOST docker load``).
What they need, :func:`readiness` says before anything is made: an engine that
lets a container mount filesystems (the nested-host probe of
:mod:`dockernet.capabilities`), an image with ``dockerd`` (:func:`host_image`),
and room on the daemon (:data:`MAX_HOSTS_ENV`).

**Real hosts** (``Lab("10-across-hosts", hosts=[...])``): docker context names or
``ssh://``/``tcp://`` URLs, checked by :func:`dockernet.realhosts.parse_hosts` (also
reachable here) before anything is made.

>>> parse_hosts(["ssh://alice@node-a", "node-b"])[1]
RealHost(spec='node-b', kind='context', url=None)
>>> swarm_ports()["port"].tolist()
['2377/tcp', '7946/tcp', '7946/udp', '4789/udp']
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from dataclasses import dataclass

import pandas as pd

from . import capabilities, image, probe, testengine
from .errors import LabError, UnknownObject
from .naming import ROLE, SHORT_NAME, lab_labels, label_filters, spec_hash
from .realhosts import RealHost, parse_hosts  # noqa: F401 - Lab(hosts=[...]) lives there

ROLE_HOST = "simulated-host"
UNDERLAY = "underlay"
DEFAULT_NAMES = ("host-a", "host-b")
#: Seconds an inner engine may take to answer once its container runs (about 4 s alone).
START_TIMEOUT_S = 90
#: How many simulated hosts may run on one daemon at once, all learners together; starting
#: one is a burst of CPU (an engine, containerd, an image load), and 2 cores thrash past this.
MAX_HOSTS_ENV = "DOCKERNET_MAX_SIMULATED_HOSTS"
DEFAULT_MAX_HOSTS = 8
#: The inner daemon's own socket: root-only inside the host, reached through ``docker exec``.
INNER_SOCKET = "unix:///var/run/docker.sock"
#: Images with ``dockerd``, in the order they are looked for (the first present wins).
DIND_REPOSITORIES = ("docker",)
#: What each port of a swarm carries, as Docker's swarm tutorial lists them.
SWARM_PORTS = (
    ("2377/tcp", "cluster management: joining, Raft", "to managers"),
    ("7946/tcp", "gossip: nodes, and who is where", "every node"),
    ("7946/udp", "gossip (the same, over UDP)", "every node"),
    ("4789/udp", "VXLAN: the overlay's own packets", "every node"),
)


@dataclass
class SimulatedHost:
    """One Docker-in-Docker engine of the lab.

    Attributes:
        name (str): the learner's name for it, e.g. ``"host-a"``.
        container: the docker SDK Container it runs in.
        address (str): its address on the underlay.
    """

    name: str
    container: object
    address: str

    def docker(self, args, timeout: float = 30) -> probe.ProbeResult:
        """``docker exec HOST docker ARGS``: the inner engine's own CLI."""
        return probe.run(self.container, ["docker", *args], timeout=timeout)

    def sh(self, command: str, timeout: float = 10) -> probe.ProbeResult:
        """A shell command in the host itself (its iptables, its interfaces)."""
        return probe.run(self.container, command, timeout=timeout)

    def cli(self, args: str) -> str:
        """The docker CLI line that does what :meth:`docker` does, for a lesson's prose."""
        return f"docker exec {self.container.name} docker {args}"


# -- what simulated hosts need -------------------------------------------------------------------


def host_image(client) -> str:
    """The image the simulated hosts run: the first present image with ``dockerd``.

    Looked for, in order: the course's test engine (``dockernet-engine:sid-*``, which
    ``make engine-image`` builds from Debian's mirror), then ``docker:*dind*``. Never pulled.

    Raises:
        LabError: none is present; the message says how to get one.
    """
    wanted = testengine.image_tag()
    if image.find(client, wanted) is not None:
        return wanted
    for found in client.images.list():
        for tag in found.tags:
            repository, _, version = tag.rpartition(":")
            if repository in DIND_REPOSITORIES and "dind" in version:
                return tag
    raise LabError(f"no image with dockerd is here (looked for {wanted} and docker:*dind*). "
                   "Get one, then run this again: `docker pull docker:dind` where a registry "
                   f"answers, or `sudo make engine-image` (builds {wanted} from Debian's mirror).")


def max_hosts() -> int:
    """The daemon-wide limit on running simulated hosts (``DOCKERNET_MAX_SIMULATED_HOSTS``)."""
    raw = os.environ.get(MAX_HOSTS_ENV, "")
    return int(raw) if raw.isdigit() else DEFAULT_MAX_HOSTS


def running_hosts(client, learner: str | None = None) -> list:
    """Simulated hosts running on this daemon (every learner's, or one learner's)."""
    filters = {"label": [*label_filters(learner), f"{ROLE}={ROLE_HOST}"], "status": "running"}
    return client.containers.list(filters=filters)


def nested_hosts_work(lab) -> bool:
    """The nested-host probe of :mod:`dockernet.capabilities`, in this lab (about 1 s)."""
    try:
        lab.run("nested-probe", role="tool", **capabilities.NESTED_HOST_SETTINGS)
    except LabError:
        return False  # the engine refused the settings: that is the answer
    try:
        output = lab.exec("nested-probe", capabilities.NESTED_PROBE).output
        return capabilities.parse_exit_codes(output).get("mount", False)
    finally:
        lab.get_container("nested-probe").remove(force=True)


def readiness(lab, count: int = len(DEFAULT_NAMES)) -> str | None:
    """Why ``count`` simulated hosts cannot start here, or ``None`` when they can."""
    if not nested_hosts_work(lab):
        return ("this engine does not let a container mount filesystems inside itself (the "
                "nested-host probe of lesson 00 says no), so dockerd cannot run in one. Typical "
                "when the engine itself runs in a container, as the course's Docker 28 test "
                "engine does, or in a locked-down VM")
    try:
        host_image(lab.client)
    except LabError as exc:
        return str(exc)
    others = [c for c in running_hosts(lab.client) if c.labels.get("dockernet.learner") != lab.learner]
    if len(others) + count > max_hosts():
        return (f"{len(others)} simulated hosts of other learners already run on this daemon and "
                f"the limit is {max_hosts()} (each start is a burst of CPU): work in pairs, or "
                f"the instructor raises {MAX_HOSTS_ENV} on a bigger machine")
    return None


# -- starting and stopping -----------------------------------------------------------------------


def start(lab, names=DEFAULT_NAMES, progress=print) -> list[SimulatedHost]:
    """Start simulated hosts on the lab network ``underlay``, all at once, with progress.

    Hosts of this lab that already answer are reused. Each new one: a volume for its
    ``/var/lib/docker``, a container running ``dockerd``, the lab image loaded into it.

    Args:
        lab: the lesson's Lab.
        names: the hosts' names (default ``host-a``, ``host-b``).
        progress: called with one line per step, from this thread.

    Returns:
        list of SimulatedHost, in the order of ``names``.

    Raises:
        LabError: :func:`readiness` says no, or a host did not answer (its log is quoted).
    """
    started = time.monotonic()
    engine_image = host_image(lab.client)
    fresh = [name for name in names if _answering(lab, name) is None]
    others = [c for c in running_hosts(lab.client) if c.labels.get("dockernet.learner") != lab.learner]
    if fresh and len(others) + len(fresh) > max_hosts():
        raise LabError(f"{len(others)} simulated hosts already run on this daemon (limit "
                       f"{max_hosts()}): stop some first, or set {MAX_HOSTS_ENV}.")
    underlay = lab.network(UNDERLAY)
    events: queue.Queue = queue.Queue()
    threads = [threading.Thread(target=_start_one, daemon=True,
                                args=(lab, name, engine_image, underlay.name, events, started))
               for name in fresh]
    for thread in threads:
        thread.start()
    failures = []
    # Progress is printed here, not in the threads: a notebook shows it under this cell.
    while any(thread.is_alive() for thread in threads) or not events.empty():
        try:
            kind, text = events.get(timeout=0.2)
        except queue.Empty:
            continue
        (failures.append if kind == "error" else progress)(text)
    for thread in threads:
        thread.join(timeout=5)
    if failures:
        raise LabError("; ".join(failures))
    hosts = [_answering(lab, name) for name in names]
    progress(f"{len(names)} hosts ready in {time.monotonic() - started:.1f} s")
    return hosts


def _start_one(lab, name, engine_image, network, events, started) -> None:
    def say(text):
        events.put(("progress", f"{time.monotonic() - started:5.1f} s  {name}: {text}"))
    try:
        _remove_if_present(lab, name)
        container = _run_host(lab, name, engine_image, network)
        say(f"container started ({engine_image})")
        version = _wait_for_engine(container)
        say(f"engine answers (Docker {version})")
        seconds = load_lab_image(lab, container)
        say(f"lab image loaded ({seconds:.1f} s)")
    except Exception as exc:  # noqa: BLE001 - reported to the caller's thread as one line
        events.put(("error", f"{name}: {exc}"))


def _run_host(lab, name, engine_image, network):
    volume = lab.volume(f"{name}-docker")
    client = lab.client
    spec = {"image": engine_image, "network": network, "role": ROLE_HOST}
    labels = {**lab_labels(lab.learner, lab.lesson, lab.session, name, spec_hash(spec)),
              ROLE: ROLE_HOST}
    host_config = client.api.create_host_config(
        **testengine.DIND_SETTINGS, network_mode=network, init=True,
        binds={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
               volume.name: {"bind": "/var/lib/docker", "mode": "rw"}})
    host_config.update(testengine.UNMASKED_PATHS)
    # docker:dind images generate TLS certificates unless DOCKER_TLS_CERTDIR is empty.
    created = client.api.create_container(
        engine_image, ["dockerd", f"--host={INNER_SOCKET}"], name=lab.name(name), hostname=name,
        labels=labels, host_config=host_config, detach=True, environment={"DOCKER_TLS_CERTDIR": ""},
        networking_config=client.api.create_networking_config(
            {network: client.api.create_endpoint_config(aliases=[name])}))
    client.api.start(created["Id"])
    return client.containers.get(created["Id"])


def _wait_for_engine(container) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        answer = probe.run(container, ["docker", "version", "-f", "{{.Server.Version}}"], timeout=5)
        if answer.ok:
            return answer.stdout
        container.reload()
        if container.status != "running":
            break
        time.sleep(0.5)
    logs = container.logs(tail=8).decode(errors="replace")
    raise LabError(f"its engine did not answer within {START_TIMEOUT_S} s. Its last log lines:\n{logs}")


def load_lab_image(lab, container) -> float:
    """``docker save LAB_IMAGE | docker exec -i HOST docker load``; the seconds it took."""
    begun = time.monotonic()
    if probe.run(container, ["docker", "image", "inspect", lab.image], timeout=10).ok:
        return 0.0
    api = lab.client.api
    exec_id = api.exec_create(container.id, ["docker", "load", "-q"], stdin=True)["Id"]
    stream = api.exec_start(exec_id, socket=True)
    raw = getattr(stream, "_sock", stream)  # docker-py hands a SocketIO over a unix/tcp socket
    for chunk in lab.client.images.get(lab.image).save(named=True):
        raw.sendall(chunk)
    raw.shutdown(socket.SHUT_WR)  # end of the archive: docker load finishes and exits
    while stream.read(65536):
        pass
    stream.close()
    if api.exec_inspect(exec_id).get("ExitCode") != 0:
        raise LabError(f"loading {lab.image} into {container.name} failed.")
    return time.monotonic() - begun


def _answering(lab, name) -> SimulatedHost | None:
    """The lab's host ``name`` if it runs, answers and has the lab image, else ``None``."""
    try:
        container = lab.get_container(name)
    except UnknownObject:
        return None
    if container.status != "running" or container.labels.get(ROLE) != ROLE_HOST:
        return None
    if not probe.run(container, ["docker", "image", "inspect", lab.image], timeout=10).ok:
        return None
    networks = container.attrs["NetworkSettings"]["Networks"] or {}
    address = next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), "")
    return SimulatedHost(container.labels[SHORT_NAME], container, address)


def _remove_if_present(lab, name) -> bool:
    try:
        lab.get_container(name).remove(force=True)
    except UnknownObject:
        return False
    return True


def stop(lab, names=DEFAULT_NAMES) -> list[str]:
    """Remove simulated hosts of this lab (containers only; ``lab.cleanup()`` takes the rest)."""
    present = [name for name in names if _remove_if_present(lab, name)]
    return present


def frame(site) -> pd.DataFrame:
    """The simulated hosts as a table: container, underlay address, engine, storage driver."""
    rows = []
    for host in site:
        info = host.docker(["info", "-f", "{{.ServerVersion}}\t{{.Driver}}\t{{.Swarm.LocalNodeState}}"])
        rows.append([host.name, host.container.name, host.address, *info.stdout.split("\t")])
    return pd.DataFrame(rows, columns=["host", "container", "underlay address", "engine",
                                       "storage driver", "swarm"])


def layout(site, network: dict) -> dict:
    """What :func:`dockernet.vxlan.diagram` draws: hosts, their overlay containers, the VNI."""
    from .swarm import overlay_vni

    hosts = []
    for host in site:
        seen = probe.parse_json(host.docker(["network", "inspect", network["Name"]]))[0]
        containers = sorted((c["Name"], c["IPv4Address"].split("/")[0])
                            for c in (seen.get("Containers") or {}).values()
                            if not c["Name"].endswith("-endpoint"))
        hosts.append({"name": host.name, "address": host.address, "containers": containers})
    config = (network.get("IPAM") or {}).get("Config") or [{}]
    return {"overlay": network["Name"], "overlay subnet": config[0].get("Subnet", "?"),
            "vni": overlay_vni(network), "hosts": hosts}


# -- a swarm between them, and what runs on it ---------------------------------------------------


def swarm_ports() -> pd.DataFrame:
    """The ports hosts of a swarm must reach each other on, and what each carries."""
    return pd.DataFrame(SWARM_PORTS, columns=["port", "carries", "open on"])


def form_swarm(manager: SimulatedHost, workers) -> pd.DataFrame:
    """``swarm init`` on ``manager`` (advertising its underlay address), ``swarm join`` the
    others; the manager's ``docker node ls`` as a table. A host already in it is left as is."""
    if _swarm_state(manager) != "active":
        manager.docker(["swarm", "init", "--advertise-addr", manager.address]).expect_success()
    token = manager.docker(["swarm", "join-token", "-q", "worker"]).expect_success().stdout
    for worker in workers:
        if _swarm_state(worker) != "active":
            worker.docker(["swarm", "join", "--advertise-addr", worker.address, "--token", token,
                           f"{manager.address}:2377"]).expect_success()
    return nodes(manager)


def _swarm_state(host: SimulatedHost) -> str:
    return host.docker(["info", "-f", "{{.Swarm.LocalNodeState}}"]).stdout


def nodes(manager: SimulatedHost) -> pd.DataFrame:
    """``docker node ls`` on the manager, as a table."""
    fields = "{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}"
    text = manager.docker(["node", "ls", "--format", fields]).expect_success().stdout
    rows = [(line.split("\t") + [""] * 4)[:4] for line in text.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["host", "status", "availability", "manager"]) \
        .sort_values("host", ignore_index=True)


def overlay(manager: SimulatedHost, name: str) -> dict:
    """An attachable overlay on the swarm (made once); its ``docker network inspect``."""
    if not manager.docker(["network", "inspect", name]).ok:
        manager.docker(["network", "create", "-d", "overlay", "--attachable", name]).expect_success()
    return probe.parse_json(manager.docker(["network", "inspect", name]))[0]


def hello_server(host: SimulatedHost, name: str, network: str, image_tag: str,
                 message: str) -> probe.ProbeResult:
    """The hello server of lesson 01 (``HELLO_COMMAND``) as a container on a simulated host."""
    from .lab import HELLO_COMMAND, HELLO_PORT

    return run_on(host, name, network, image_tag, ["sh", "-c", HELLO_COMMAND],
                  {"MESSAGE": message, "PORT": str(HELLO_PORT)})


def curl(host: SimulatedHost, container: str, url: str, timeout: float = 3) -> probe.ProbeResult:
    """``docker exec HOST docker exec CONTAINER curl -sS --max-time T URL``."""
    return host.docker(["exec", container, "curl", "-sS", "--max-time", f"{timeout:g}", url],
                       timeout=timeout + 10)


def run_on(host: SimulatedHost, name: str, network: str, image_tag: str, command=None,
           environment: dict | None = None) -> probe.ProbeResult:
    """``docker run -d --name NAME --network NETWORK`` on a simulated host (replaced if there),
    plus the lab's ``--init``, ``--hostname`` and local-only DNS flags."""
    from .lab import LOCAL_ONLY_DNS, LOCAL_ONLY_DNS_OPTIONS

    host.docker(["rm", "-f", name])
    env = [arg for key, value in (environment or {}).items() for arg in ("-e", f"{key}={value}")]
    # The lab's own DNS flags (lesson 00): a name Docker does not know fails here, at once.
    dns = [arg for server in LOCAL_ONLY_DNS for arg in ("--dns", server)] + \
        [arg for option in LOCAL_ONLY_DNS_OPTIONS for arg in ("--dns-option", option)]
    argv = ["run", "-d", "--init", "--name", name, "--hostname", name, "--network", network,
            *dns, *env, image_tag, *(command or ["sleep", "infinity"])]
    return host.docker(argv, timeout=60).expect_success()

