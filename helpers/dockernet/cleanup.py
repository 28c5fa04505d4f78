"""Ordered, verified removal of the lab's own objects, by label only.

Containers, then networks, then volumes; each object's labels are re-checked
before it is removed by id; "not found" counts as done; afterwards the daemon is
asked again and anything left is reported. Nothing without the lab's labels is
ever touched, whatever its name.

>>> from dockernet import Lab
>>> from dockernet.cleanup import remove_lab_objects
>>> lab = Lab("02-user-defined-bridge", quiet=True)
>>> _ = lab.network("my-net"), lab.run("web", network="my-net")
>>> remove_lab_objects(client, learner=lab.learner)
Removed(containers=['web'], networks=['my-net'], volumes=[])
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import docker

from .errors import CleanupIncomplete
from .naming import display_name, label_filters, owned_by

#: Modules whose ``remove_marked(client, learner, lesson)`` removes what a lesson made that is not
#: a container, network or volume (a firewall rule, a host link, a swarm service). They run first,
#: while the marker volumes that say whose each thing is still exist.
BEFORE_OBJECTS = ("dockernet.firewall.labrules", "dockernet.hostlinks", "dockernet.swarm")
#: Modules whose ``after_cleanup(client, learner, lesson)`` runs once the objects are gone
#: (e.g. leaving a swarm the lab created, once no lesson uses it any more; removing the folders
#: of lesson 13's Compose files).
AFTER_OBJECTS: tuple[str, ...] = ("dockernet.swarm", "dockernet.compose")


@dataclass
class Removed:
    """What a cleanup removed, by the names learners know."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def summary(self) -> str:
        """One line for a notebook or a terminal."""
        parts = [f"{len(items)} {kind}" for kind, items in
                 (("containers", self.containers), ("networks", self.networks),
                  ("volumes", self.volumes))]
        return "removed " + ", ".join(parts)


def _ignore_missing(remove, *args, **kwargs) -> bool:
    try:
        remove(*args, **kwargs)
    except docker.errors.NotFound:
        return False  # already gone: someone else's cleanup, or a race with the daemon
    return True


def _name(obj: dict) -> str:
    # Networks and volumes list a "Name"; containers a list of "/name"s.
    return obj.get("Name") or obj.get("Names", ["/?"])[0].lstrip("/")


def lab_objects(client, learner: str | None = None, lesson: str | None = None) -> dict:
    """The lab's containers, networks and volumes, labels re-checked on each."""
    filters = {"label": label_filters(learner, lesson)}
    containers = [c for c in client.api.containers(all=True, filters=filters)
                  if owned_by(c.get("Labels"), learner, lesson)]
    networks = [n for n in client.api.networks(filters=filters)
                if owned_by(n.get("Labels"), learner, lesson)]
    volumes = [v for v in (client.api.volumes(filters=filters).get("Volumes") or [])
               if owned_by(v.get("Labels"), learner, lesson)]
    return {"containers": containers, "networks": networks, "volumes": volumes}


def remove_lab_objects(client, learner: str | None = None, lesson: str | None = None) -> Removed:
    """Remove the lab's objects for one learner (and lesson), or every learner's.

    What a lesson added outside Docker's containers, networks and volumes goes first (each module
    of :data:`BEFORE_OBJECTS`, e.g. :func:`dockernet.firewall.labrules.remove_marked`); the
    modules of :data:`AFTER_OBJECTS` run last.

    Args:
        client: a docker SDK client.
        learner (str): only this learner's objects; ``None`` means every learner.
        lesson (str): only this lesson's objects; ``None`` means every lesson.

    Returns:
        Removed: what was removed.

    Raises:
        CleanupIncomplete: some objects are still there (the message says which and why).
    """
    # Firewall rules (lesson 03), host links (08), services (09) are not containers, networks
    # or volumes: their markers, lab volumes, say whose they are. They go first, the markers
    # later with the volumes. Imported late: these modules need the lab's own modules.
    for module in BEFORE_OBJECTS:
        importlib.import_module(module).remove_marked(client, learner, lesson)
    removed = Removed()
    found = lab_objects(client, learner, lesson)
    problems = []
    # Containers first (force: they may run), so that networks and volumes are free to go.
    # A volume's name is its id: there is nothing else to remove it by.
    steps = (("containers", lambda c: client.api.remove_container(c["Id"], force=True)),
             ("networks", lambda n: client.api.remove_network(n["Id"])),
             ("volumes", lambda v: client.api.remove_volume(v["Name"])))
    for kind, remove in steps:
        for obj in found[kind]:
            try:
                if _ignore_missing(remove, obj):
                    getattr(removed, kind).append(display_name(obj.get("Labels"), _name(obj)))
            except docker.errors.APIError as exc:
                # Typically a container the lab did not create is attached: we do not touch it.
                problems.append(f"{kind[:-1]} {_name(obj)}: {exc.explanation}")
    for module in AFTER_OBJECTS:
        importlib.import_module(module).after_cleanup(client, learner, lesson)
    left = lab_objects(client, learner, lesson)
    leftovers = [f"{kind[:-1]} {_name(obj)}" for kind, objs in left.items() for obj in objs]
    if leftovers:
        raise CleanupIncomplete(
            "Cleanup left " + ", ".join(leftovers) + ". " + " ".join(problems)
            + " Fix: disconnect or remove what you attached to the lab's networks yourself, "
            "then run the cleanup again (`python -m dockernet clean`)."
        )
    return removed
