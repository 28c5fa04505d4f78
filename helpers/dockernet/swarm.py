"""Swarm mode for the overlay lessons: a swarm the lab may create and must leave as it found it.

Overlay networks need swarm mode. Many learners share one daemon, so the swarm is shared
too, and three rules keep a learner's (or an instructor's) own swarm safe:

- the lab **initialises** a single-node swarm only when the daemon is in none, and marks it
  as its own with a label in the swarm's spec (:data:`MADE_LABEL`);
- it never leaves, re-initialises or changes a swarm without that label;
- each learner's lesson **claims** the swarm first (a labelled marker volume,
  ``dn-<learner>-<NN>-swarm-claim``), and the cleanup that removes the last claim leaves the
  lab's swarm, and removes ``docker_gwbridge`` if the lab's swarm brought it.

Joining (claim, then init if needed) and leaving (count the claims, then leave) each run
under one daemon-wide lock, a container created with the fixed name :data:`LOCK_NAME` (a
name is the one thing Docker hands out atomically), so one learner's leave never cuts
through another's join. A lock older than :data:`LOCK_STALE_S` belonged to a kernel that
died, and is taken over.

Services carry the lab's labels; :func:`remove_marked` removes them, and waits for their
tasks to go, before cleanup removes the networks they were on.

>>> overlay_vni({"Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"}})
4097
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import asdict, dataclass

import docker
import pandas as pd

from . import image
from .capabilities import HostReport
from .errors import LabError
from .naming import ROLE, SHORT_NAME, docker_name, lab_labels, label_filters, owned_by

#: The swarm spec label that says the lab initialised this swarm, and one that says whether
#: ``docker_gwbridge`` was there before it ("found") or not ("made": leaving removes it).
MADE_LABEL = "dockernet.swarm"
MADE_VALUE = "made-by-the-lab"
GWBRIDGE_LABEL = "dockernet.gwbridge"
GWBRIDGE = "docker_gwbridge"
#: A learner's claim on the swarm: a marker volume per learner and lesson.
CLAIM = "swarm-claim"
CLAIM_LABEL = "dockernet.swarm-claim"
#: The daemon-wide lock around joining and leaving.
LOCK_NAME = "dn-swarm-lock"
LOCK_SINCE = "dockernet.since"
LOCK_STALE_S = 60
LOCK_WAIT_S = 120
#: A single-node swarm talks to itself only: nothing listens on the LAN.
ADVERTISE_ADDR = "127.0.0.1"
LISTEN_ADDR = "127.0.0.1:2377"
#: Where an overlay's inspect keeps its VXLAN network identifier(s).
VXLAN_ID_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
#: Seconds a service's tasks, or their removal, may take (a classroom's daemon is busy).
TASKS_TIMEOUT_S = 90
SWARM_SERVICE_LABEL = "com.docker.swarm.service.id"
#: Seconds a removed overlay may linger on the node.
OVERLAY_LINGER_S = 10


def overlay_vni(network_attrs: dict) -> int | None:
    """The VXLAN network identifier (VNI) of an overlay, from its ``docker network inspect``.

    Docker keeps it in the option ``com.docker.network.driver.overlay.vxlanid_list`` (one id
    per subnet, comma-separated: the first is returned). A network that is not a swarm
    overlay has none.

    >>> overlay_vni({"Options": {VXLAN_ID_OPTION: "4101,4102"}})
    4101
    >>> overlay_vni({"Driver": "bridge", "Options": {}}) is None
    True
    """
    ids = ((network_attrs or {}).get("Options") or {}).get(VXLAN_ID_OPTION, "")
    first = ids.split(",")[0].strip()
    return int(first) if first.isdigit() else None


# -- can this daemon do it? ------------------------------------------------------------------


def why_unusable(report: HostReport) -> str | None:
    """Why a lesson cannot make overlays on this engine, or ``None`` when it can.

    >>> why_unusable(HostReport(swarm_state="inactive", network_drivers=["overlay"])) is None
    True
    >>> why_unusable(HostReport(swarm_state="active", swarm_manager=False,
    ...                         network_drivers=["overlay"]))            # doctest: +ELLIPSIS
    'this daemon is a worker in a swarm...'
    """
    if report.rootless:
        return ("rootless Docker has no overlay networks (its network namespace belongs to "
                "RootlessKit, and swarm mode needs a rootful daemon).")
    if "overlay" not in report.network_drivers:
        return "this engine lists no overlay driver (docker info: Plugins → Network)."
    if report.firewall_backend == "nftables":
        return ("this daemon runs Docker 29's nftables firewall backend, which does not support "
                "swarm mode: dockerd refuses `docker swarm init` there. With the default "
                "iptables backend, overlays work.")
    state = report.swarm_state
    if state == "active" and not report.swarm_manager:
        return ("this daemon is a worker in a swarm someone else made: only a manager can create "
                "overlay networks and services, and the lab never changes a swarm it did not make.")
    if state == "locked":
        return ("this daemon's swarm is locked (autolock): `docker swarm unlock` is its owner's "
                "job, and the lab never touches a swarm it did not make.")
    if state in ("pending", "error"):
        return (f"this daemon's swarm is {state!r} (a join or init that did not finish): "
                "the lab leaves it alone; `docker info` says more.")
    if state not in ("inactive", "active"):
        return f"this daemon reports swarm state {state!r}, which the lab does not know."
    return None


def host_report(client) -> HostReport:
    """The engine's facts (``docker info``/``docker version``; no probes)."""
    return HostReport.from_daemon(client.info(), client.version())


@dataclass
class SwarmStatus:
    """This daemon's swarm as the lesson sees it."""

    usable: bool
    reason: str = ""
    state: str = ""
    manager: bool = False
    made_by_lab: bool = False
    node_id: str = ""
    swarm_id: str = ""
    node_address: str = ""
    claims: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The status as a one-column table, for a notebook."""
        rows = asdict(self)
        if self.usable:
            rows.pop("reason")
        return pd.DataFrame({"value": rows}).rename_axis("swarm")

    def _repr_html_(self) -> str:
        return self.to_frame().to_html()


def status(client) -> SwarmStatus:
    """What ``docker info`` says of the swarm, whether the lab made it, and how many claims."""
    info = client.info().get("Swarm") or {}
    state = info.get("LocalNodeState", "") or ""
    manager = bool(info.get("ControlAvailable"))
    reason = why_unusable(host_report(client)) or ""
    return SwarmStatus(usable=not reason, reason=reason, state=state, manager=manager,
                       made_by_lab=bool(manager and _spec_labels(client).get(MADE_LABEL) == MADE_VALUE),
                       node_id=info.get("NodeID", ""), node_address=info.get("NodeAddr", ""),
                       swarm_id=((info.get("Cluster") or {}).get("ID", "")),
                       claims=len(_claims(client)))


def _spec_labels(client) -> dict:
    try:
        return (client.api.inspect_swarm().get("Spec") or {}).get("Labels") or {}
    except docker.errors.APIError:
        return {}  # not a manager (or no swarm any more): nothing of ours to read


# -- the lock and the claims -----------------------------------------------------------------


@contextlib.contextmanager
def swarm_lock(client, learner: str | None, lesson: str | None):
    """Hold the daemon-wide swarm lock (a created, never started, container) for a moment.

    Raises:
        LabError: someone held it for longer than :data:`LOCK_WAIT_S`.
    """
    labels = lab_labels(learner or "lab", lesson or "cleanup", "lock", "swarm-lock")
    labels.update({ROLE: "tool", LOCK_SINCE: f"{time.time():.3f}"})
    deadline = time.monotonic() + LOCK_WAIT_S
    lock_id = None
    while lock_id is None:
        try:
            lock_id = client.api.create_container(image.image_tag(), ["true"], name=LOCK_NAME,
                                                  labels=labels, network_disabled=True)["Id"]
        except docker.errors.ImageNotFound:
            break  # no lab image: nobody can be joining through the lab; go on without the lock
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
            _take_over_if_stale(client)
            if time.monotonic() > deadline:
                raise LabError(f"the swarm lock {LOCK_NAME} stayed taken for {LOCK_WAIT_S} s: "
                               "is another learner's lesson stuck? Try again.") from None
            time.sleep(random.uniform(0.1, 0.4))  # staggered: 30 kernels do not retry in step
    try:
        yield
    finally:
        if lock_id:
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(lock_id, force=True)


def _take_over_if_stale(client) -> None:
    try:
        held = client.api.inspect_container(LOCK_NAME)
    except docker.errors.NotFound:
        return
    labels = held["Config"].get("Labels") or {}
    since = float(labels.get(LOCK_SINCE) or 0)
    if owned_by(labels) and time.time() - since > LOCK_STALE_S:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(held["Id"], force=True)


def _claims(client, learner: str | None = None, lesson: str | None = None) -> list[dict]:
    filters = {"label": [*label_filters(learner, lesson), f"{CLAIM_LABEL}=1"]}
    found = client.api.volumes(filters=filters).get("Volumes") or []
    return [v for v in found if owned_by(v.get("Labels"), learner, lesson)
            and (v.get("Labels") or {}).get(SHORT_NAME) == CLAIM]


def _claim(lab) -> None:
    labels = lab_labels(lab.learner, lab.lesson, lab.session, CLAIM)
    labels.update({ROLE: "tool", CLAIM_LABEL: "1"})
    claim = lab.client.volumes.create(docker_name(lab.learner, lab.lesson, CLAIM), labels=labels)
    if not owned_by(claim.attrs.get("Labels"), lab.learner, lab.lesson):
        raise LabError(f"a volume named {claim.name} exists that the lab did not create; the lab "
                       "makes no swarm. Remove it yourself, or set DOCKERNET_LEARNER to another id.")


def _drop_claim(lab) -> None:
    for claim in _claims(lab.client, lab.learner, lab.lesson):
        with contextlib.suppress(docker.errors.NotFound):
            lab.client.api.remove_volume(claim["Name"])


# -- joining and leaving ---------------------------------------------------------------------


def join_or_create(lab) -> SwarmStatus:
    """Claim the swarm for this learner's lesson; initialise one only if the daemon has none.

    A swarm that is there already (the lab's, or your own as a manager) is used as it is:
    nothing in it changes. A new one is a single-node swarm advertising ``127.0.0.1``, labelled
    as the lab's (``docker swarm init --advertise-addr 127.0.0.1 --listen-addr
    127.0.0.1:2377``), which the last lesson's cleanup leaves again.

    Returns:
        SwarmStatus: the swarm now.

    Raises:
        LabError: swarm mode is not usable here (the message says why: Docker 29's nftables
            backend, a worker node, a locked swarm, rootless Docker); no claim is left behind.
    """
    client = lab.client
    reason = why_unusable(host_report(client))
    if reason:
        raise LabError(f"no overlays here: {reason}")
    with swarm_lock(client, lab.learner, lab.lesson):
        _claim(lab)  # first the claim: from now on no cleanup leaves the swarm under us
        try:
            _ensure_swarm(client)
        except Exception:
            _drop_claim(lab)
            raise
    return status(client)


def prepare(lab) -> SwarmStatus:
    """:func:`join_or_create`, or, where swarm mode is not usable here, the status with the
    reason (``usable`` false) and nothing made: the lesson explains and goes on."""
    reason = why_unusable(host_report(lab.client))
    if reason:
        found = status(lab.client)
        found.reason = reason
        return found
    return join_or_create(lab)


def _ensure_swarm(client) -> None:
    for _attempt in range(20):
        info = client.info().get("Swarm") or {}
        state = info.get("LocalNodeState")
        if state == "active":
            if info.get("ControlAvailable"):
                return
            raise LabError("no overlays here: " + why_unusable(host_report(client)))
        if state == "pending":
            time.sleep(0.5)  # someone else's init or join is finishing
            continue
        if state != "inactive":
            raise LabError(f"no overlays here: {why_unusable(host_report(client))}")
        gwbridge = "found" if client.api.networks(names=[GWBRIDGE]) else "made"
        try:
            client.swarm.init(advertise_addr=ADVERTISE_ADDR, listen_addr=LISTEN_ADDR,
                              labels={MADE_LABEL: MADE_VALUE,
                                      GWBRIDGE_LABEL: gwbridge})
            return
        except docker.errors.APIError as exc:
            if "already part of a swarm" in str(exc):
                continue  # someone outside the lab was quicker: look again, use theirs
            raise LabError(f"`docker swarm init` failed: {exc.explanation}") from None
    raise LabError("the swarm did not settle in 10 s (state stayed 'pending'); try again.")


def after_cleanup(client, learner: str | None = None, lesson: str | None = None) -> bool:
    """Leave the lab's swarm once no learner's lesson claims it any more.

    Runs at the end of every cleanup (``cleanup.AFTER_OBJECTS``). A swarm the lab did not make
    is never left. Nor is the lab's while a service (anyone's) still runs on it or another node
    joined it: someone is using it.

    Returns:
        bool: True when it left the swarm.
    """
    info = client.info().get("Swarm") or {}
    if info.get("LocalNodeState") != "active" or not info.get("ControlAvailable"):
        return False
    _wait_for_overlays_gone(client, learner, lesson)
    if _spec_labels(client).get(MADE_LABEL) != MADE_VALUE:
        return False  # not ours: never touched
    with swarm_lock(client, learner, lesson):
        # Looked at again under the lock: a learner may have claimed it meanwhile.
        labels = _spec_labels(client)
        if labels.get(MADE_LABEL) != MADE_VALUE or _claims(client) or client.api.services():
            return False
        if len(client.api.nodes()) > 1:
            return False
        client.swarm.leave(force=True)  # a single manager must force: the swarm ends with it
        if labels.get(GWBRIDGE_LABEL) == "made":
            _remove_gwbridge(client)
    return True


def _wait_for_overlays_gone(client, learner, lesson, timeout: float = OVERLAY_LINGER_S) -> None:
    """An overlay the cleanup removed lingers a moment (about 0.2 s here) after Docker said
    it was removed: wait, so that the cleanup's last look does not see it. One that stays
    (someone attached a container of their own) is reported by that look, :data:`timeout` later.
    """
    deadline = time.monotonic() + timeout
    filters = {"label": label_filters(learner, lesson), "driver": "overlay"}
    while time.monotonic() < deadline and [
            n for n in client.api.networks(filters=filters) if owned_by(n.get("Labels"), learner, lesson)]:
        time.sleep(0.1)


def _remove_gwbridge(client) -> None:
    for found in client.api.networks(names=[GWBRIDGE]):
        if found.get("Name") != GWBRIDGE:
            continue
        with contextlib.suppress(docker.errors.NotFound):
            try:
                client.api.remove_network(found["Id"])
            except docker.errors.APIError:
                pass  # a container still uses it (not one of the lab's): it stays


# -- services --------------------------------------------------------------------------------


def lab_services(client, learner: str | None = None, lesson: str | None = None) -> list[dict]:
    """The lab's services of ``learner`` and ``lesson`` (``None``: all), labels re-checked;
    ``[]`` when this daemon manages no swarm."""
    try:
        found = client.api.services(filters={"label": label_filters(learner, lesson)})
    except docker.errors.APIError:
        return []  # not a manager, or no swarm: no services to see
    return [s for s in found if owned_by((s.get("Spec") or {}).get("Labels"), learner, lesson)]


def remove_marked(client, learner: str | None = None, lesson: str | None = None) -> list[str]:
    """Remove the lab's services (``cleanup.BEFORE_OBJECTS``) and their tasks' containers, so
    that the networks they were on can go next.

    Returns:
        list: the learners' names of the removed services.

    Raises:
        LabError: their containers were still there after :data:`TASKS_TIMEOUT_S`.
    """
    removed = []
    services = lab_services(client, learner, lesson)
    for service in services:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_service(service["ID"])
            removed.append(service["Spec"]["Labels"].get(SHORT_NAME, service["Spec"]["Name"]))
    for service in services:
        remove_task_containers(client, service["ID"])
    return removed


def remove_task_containers(client, service_id: str, timeout: float = TASKS_TIMEOUT_S) -> None:
    """Remove the containers of a service the lab made and has removed, and wait until none
    is left.

    Swarm would stop them itself, about 6 s later (its agent notices, stops, then removes);
    they are the lab's service's, found by Docker's own label for it.
    """
    filters = {"label": f"{SWARM_SERVICE_LABEL}={service_id}"}
    for found in client.api.containers(all=True, filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.api.remove_container(found["Id"], force=True)  # a 409: already going
    wait_for_tasks_gone(client, service_id, timeout)


def wait_for_tasks_gone(client, service_id: str, timeout: float = TASKS_TIMEOUT_S) -> None:
    """Wait until a removed service has no container and no task left.

    Only then has the node let go of the service's overlays: a network removed earlier is
    gone from the manager at once, but lingers on the node for a moment.
    """
    deadline = time.monotonic() + timeout
    filters = {"label": f"{SWARM_SERVICE_LABEL}={service_id}"}
    while (client.api.containers(all=True, filters=filters)
           or _tasks_of(client, service_id)):
        if time.monotonic() > deadline:
            raise LabError(f"the tasks of service {service_id[:12]} were still there after "
                           f"{timeout:.0f} s; run the cleanup again.")
        time.sleep(0.2)


def _tasks_of(client, service_id: str) -> list:
    try:
        return client.api.tasks(filters={"service": service_id})
    except docker.errors.APIError:
        return []  # the swarm is gone: so are its tasks
