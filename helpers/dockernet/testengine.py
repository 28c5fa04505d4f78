"""A second, current Docker engine for the course's own tests: Debian sid's docker.io.

Learners run Docker 20.10 to 29, and what the lessons show differs between them
(firewall chains, backends, ``--link`` variables, gateways). Contributors and CI
therefore run the suite twice: on the host's engine, and on this one, a
Docker-in-Docker engine built from Debian's mirror alone (no registry):

1. ``debootstrap --variant=minbase`` sid with ``docker.io`` and ``docker-compose``
   (about 35 s, about 630 MB), ``docker import`` the tree (about 5 s);
2. run it with the Docker-in-Docker settings below, ``/var/lib/docker`` on a
   volume (so the inner daemon uses overlay2) and its socket in a host folder;
3. ``docker save`` the lab image into it (about 4 s).

Everything it makes carries the label ``dockernet.testengine=1`` (not the lab's
labels: a learner's cleanup never stops it) and :func:`stop` removes the
container, the volume and the socket folder by that label.

    python -m dockernet test-engine start     # prints DOCKER_HOST=unix:///...
    python -m dockernet test-engine stop [--purge]

>>> from dockernet import testengine
>>> testengine.docker_host("/run/dockernet-engine")
'unix:///run/dockernet-engine/docker.sock'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import docker

from . import image
from .errors import DockernetError, ImageUnavailable
from .image import Progress

LABEL = "dockernet.testengine"
LABELS = {LABEL: "1"}
NAME = "dockernet-test-engine"
REPOSITORY = "dockernet-engine"
SUITE = "sid"
#: The sid packages of the test engine (Docker 28.5 and Compose 2.40 on 2026-11). docker.io only
#: recommends docker-cli, which debootstrap skips: lesson 10's simulated hosts need the CLI inside.
PACKAGES = ["docker.io", "docker-cli", "docker-compose", "iptables", "nftables", "iproute2",
            "ca-certificates", "procps"]
#: Where the inner daemon's socket appears on the host (``DOCKERNET_ENGINE_DIR`` overrides).
DEFAULT_RUN_DIR = "/run/dockernet-engine"
#: The settings a Docker-in-Docker engine needs in this kind of sandbox (DESIGN.md's facts):
#: plain --privileged fails where CAP_SYS_RESOURCE is missing, so every other capability,
#: no seccomp/AppArmor profile, unmasked /proc paths and a writable cgroup tree.
DIND_SETTINGS = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
}
#: ``--security-opt systempaths=unconfined`` is the CLI's spelling; the API (and so docker-py)
#: takes it as empty masked and read-only path lists in the host config.
UNMASKED_PATHS = {"MaskedPaths": [], "ReadonlyPaths": []}
START_TIMEOUT = 60


class EngineError(DockernetError):
    """The test engine could not be built, started or reached; the message says why."""


def image_tag() -> str:
    """``dockernet-engine:sid-<hash of the recipe>``: a changed package list is a new tag."""
    digest = hashlib.sha256(" ".join([SUITE, *PACKAGES]).encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{SUITE}-{digest}"


def run_dir() -> Path:
    """The host folder that holds the inner daemon's socket."""
    return Path(os.environ.get("DOCKERNET_ENGINE_DIR") or DEFAULT_RUN_DIR)


def docker_host(folder: str | Path | None = None) -> str:
    """The ``DOCKER_HOST`` value that reaches the test engine."""
    return f"unix://{Path(folder or run_dir()) / 'docker.sock'}"


def ensure_image(client, progress: Progress = print):
    """The engine image: reused when present, else debootstrapped from Debian's mirror."""
    tag = image_tag()
    found = image.find(client, tag)
    if found is not None:
        progress(f"engine image {tag} is present: reusing it")
        return found
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise EngineError("building the test engine needs root and debootstrap "
                          "(`sudo apt-get install debootstrap`, then `sudo make engine`).")
    try:
        return image.debootstrap_image(
            client, tag, SUITE, PACKAGES, progress, minutes="about 40 s",
            changes=[f'LABEL {LABEL}="1"', 'CMD ["dockerd"]'])
    except ImageUnavailable as exc:
        raise EngineError(f"could not build the test engine: {exc}") from None


def find(client):
    """The test engine's container, if one runs (or exists), else ``None``."""
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
        if container.labels.get(LABEL) == "1":
            return container
    return None


def start(client, progress: Progress = print, load_lab_image: bool = True) -> str:
    """Start the test engine (or reuse a running one) and return its ``DOCKER_HOST``.

    Args:
        client: a docker SDK client for the host's engine.
        progress: called with one line per step.
        load_lab_image (bool): copy the host's lab image into the engine.

    Raises:
        EngineError: it could not be built or did not answer within a minute.
    """
    engine_image = ensure_image(client, progress)
    folder = run_dir()
    running = find(client)
    if running is not None and running.status != "running":
        running.remove(force=True)
        running = None
    if running is None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "docker.sock").unlink(missing_ok=True)  # a stale socket would look alive
        volume = client.volumes.create(f"{NAME}-data", labels=LABELS)
        if (volume.attrs.get("Labels") or {}).get(LABEL) != "1":
            raise EngineError(f"a volume {volume.name} exists that the lab did not create: "
                              "remove or rename it, then try again.")
        progress(f"starting {NAME} ({engine_image.tags[0]})")
        run_dind(client, engine_image.id, NAME, volume.name, folder)
    inner = wait_until_answering(client, docker_host(folder))
    progress(f"engine answers: Docker {inner.version()['Version']} at {docker_host(folder)}")
    if load_lab_image:
        copy_lab_image(client, inner, progress)
    inner.close()
    return docker_host(folder)


def run_dind(client, image_id: str, name: str, data_volume: str, socket_dir: Path):
    """Start a Docker-in-Docker engine whose socket appears as ``socket_dir/docker.sock``.

    Args:
        client: a docker SDK client for the outer engine.
        image_id (str): an image with ``dockerd``.
        name (str): the container's name.
        data_volume (str): a volume for ``/var/lib/docker`` (so the inner daemon uses overlay2).
        socket_dir (Path): a host folder, mounted at ``/run/ext``.

    Returns:
        docker.models.containers.Container
    """
    host_config = client.api.create_host_config(
        **DIND_SETTINGS,
        binds={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
               data_volume: {"bind": "/var/lib/docker", "mode": "rw"},
               str(socket_dir): {"bind": "/run/ext", "mode": "rw"}})
    host_config.update(UNMASKED_PATHS)
    created = client.api.create_container(
        image_id, ["dockerd", "-H", "unix:///run/ext/docker.sock"], name=name, hostname=name,
        labels=LABELS, host_config=host_config, detach=True)
    client.api.start(created["Id"])
    return client.containers.get(created["Id"])


def wait_until_answering(client, url: str, timeout: float = START_TIMEOUT):
    """A docker SDK client for the inner engine, once it answers a ping."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            inner = docker.DockerClient(base_url=url, version="auto", timeout=120)
            inner.ping()
            return inner
        except Exception as exc:  # noqa: BLE001 - not up yet: the socket is missing or refuses
            last = f"{type(exc).__name__}: {exc}"
        container = find(client)
        if container is None or container.status == "exited":
            logs = container.logs(tail=20).decode(errors="replace") if container else ""
            raise EngineError(f"the test engine stopped while starting. Its last log lines:\n{logs}")
        time.sleep(0.5)
    raise EngineError(f"the test engine did not answer at {url} within {timeout:.0f} s ({last[:200]}).")


def copy_lab_image(client, inner, progress: Progress = print) -> None:
    """``docker save`` the host's lab image into the inner engine (skipped when present)."""
    tag = image.image_tag()
    if image.find(inner, tag) is not None:
        progress(f"the engine already has {tag}")
        return
    found = image.find(client, tag)
    if found is None:
        raise EngineError(f"the host has no {tag} to copy: run `make image` first.")
    started = time.monotonic()
    inner.images.load(found.save(named=True))  # streamed: the archive never touches the disk
    progress(f"copied {tag} into the engine in {time.monotonic() - started:.1f} s")


def stop(client, purge: bool = False, progress: Progress = print) -> list[str]:
    """Remove the test engine's container, volume and socket folder (and image with ``purge``).

    Only objects labelled ``dockernet.testengine=1`` are removed.

    Returns:
        list of str: what was removed.
    """
    removed = []
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
        if container.labels.get(LABEL) == "1":
            container.remove(force=True)
            removed.append(f"container {container.name}")
    for volume in client.volumes.list(filters={"label": f"{LABEL}=1"}):
        if (volume.attrs.get("Labels") or {}).get(LABEL) == "1":
            volume.remove(force=True)
            removed.append(f"volume {volume.name}")
    if purge:
        for found in client.images.list(filters={"label": f"{LABEL}=1"}):
            if (found.labels or {}).get(LABEL) == "1":
                client.images.remove(found.id, force=True)
                removed.append(f"image {', '.join(found.tags) or found.short_id}")
    folder = run_dir()
    if folder.is_dir():
        (folder / "docker.sock").unlink(missing_ok=True)
        try:
            folder.rmdir()  # only if empty: never delete what someone else put there
            removed.append(f"folder {folder}")
        except OSError:
            pass
    progress("removed " + (", ".join(removed) if removed else "nothing (no test engine found)"))
    return removed
