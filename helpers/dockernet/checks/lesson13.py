"""Self-checks and claims for lesson 13 (Compose networking).

Claims check what a section says, on whatever engine runs it: each returns what it
was given (or a picture of it) and raises :class:`~dockernet.ExpectationFailed` with
the reason when the engine disagrees. Where Compose v2 is missing, each returns a
:class:`~dockernet.compose.NotRun` that says so and how to get it: the lesson
explains instead of failing.

The exercises' self-checks return a :class:`~dockernet.checks.CheckResult` naming
the first thing still wrong: a hint, never the answer.

>>> from dockernet.checks import lesson13
>>> lesson13.names_prediction(lab, "notes_default", None).hint.split(",")[0]
'Compose puts the project name first'
"""

from __future__ import annotations

import time

import docker
import pandas as pd

from .. import compose, hostview, plots
from ..compose import PROJECT_LABEL, SERVICE_LABEL, NotRun, Project
from ..naming import docker_name, owned_by
from . import CheckResult, fail, verdict

#: Section 4: the application that needs its database at start, and what a good start prints.
APP, DB, DB_PORT, DB_SAYS = "app", "db", 5432, "db: ready"
#: Exercise 1: the stack, the service to add, the service it must reach and the one it must not.
SHOP, WORKER, WEB = "shop", "worker", "web"
#: Exercise 2: the project whose names the learner predicts.
NOTES, NOTES_SERVICE = "notes", "api"


def _missing(what: str) -> NotRun | None:
    return None if compose.version() else NotRun(what)


def where_compose_runs(lab) -> pd.DataFrame | NotRun:
    """Section 1: which Compose runs, and against which daemon (the lab's)."""
    if not compose.version():
        return NotRun("docker compose version")
    engine = lab.client.version()
    return pd.DataFrame({"value": [compose.version(), " ".join(compose.command()),
                                   f"Docker {engine['Version']} (API {engine['ApiVersion']})"]},
                        index=pd.Index(["Compose", "command", "daemon"], name="what"))


# -- claims of the sections ----------------------------------------------------------------


def named_as_compose_does(project: Project) -> pd.DataFrame | NotRun:
    """Section 2: every container is ``<project>-<service>-1`` (hyphens), runs, and carries the
    lab's labels; the project's networks are ``<project>_<network>`` (an underscore) with the
    lab's labels too. Returns ``project.ps()``."""
    if (skipped := _missing("docker compose ps")) is not None:
        return skipped
    table = project.ps()
    if sorted(table.service) != sorted(project.services):
        fail(f"Compose runs {sorted(table.service)}, not the file's {sorted(project.services)}")
    for row in table.to_dict("records"):
        if row["container"] != f"{project.name}-{row['service']}-1":
            fail(f"{row['container']} is not named <project>-<service>-1")
        if not row["state"].startswith("running") or not row["lab labels"]:
            fail(f"{row['container']} is {row['state']}, lab labels: {row['lab labels']}")
    for row in project.networks_table().to_dict("records"):
        real = row["Docker's name"]
        if real != project.network_name(row["in the file"]) or not row["lab labels"]:
            fail(f"network {real} is not <project>_{row['in the file']} with the lab's labels")
    return table


def one_network_for_all(project: Project) -> pd.DataFrame | NotRun:
    """Section 2: without ``networks:`` every service joins ``<project>_default``, on a
    subnet of the lab pool. Returns the networks table."""
    if (skipped := _missing("docker network ls --filter label=" + PROJECT_LABEL)) is not None:
        return skipped
    nets = project.networks_table()
    if list(nets["in the file"]) != ["default"]:
        fail(f"the project has networks {list(nets['in the file'])}, not only default")
    on_it = sorted(nets.services.iloc[0].split(", "))
    if on_it != sorted(project.services):
        fail(f"{project.network_name()} holds {on_it}, not every service")
    return nets


def host_curl(project: Project, url: str):
    """Section 3: ``curl URL`` on the Docker host itself (the host view)."""
    if (skipped := _missing(f"curl {url} on the host")) is not None:
        return skipped
    return hostview.host_exec(project.lab, ["curl", "-sS", "--max-time", "3", url])


def started_too_early(project: Project) -> pd.DataFrame | NotRun:
    """Section 4: with a plain ``depends_on``, ``app`` started while ``db`` did not listen
    yet, failed to connect and exited. Returns ``project.ps()``."""
    if (skipped := _missing("docker compose ps -a")) is not None:
        return skipped
    # Bounded but generous: on a busy classroom host `up` can return well before app's
    # container has run its curl (refused at once: db waits for its gate) and stopped.
    stopped = project.wait_exit(APP, timeout=60)
    if stopped is None:
        started = {c.labels.get(SERVICE_LABEL): c.attrs["State"]["StartedAt"][11:23]
                   for c in project.containers()}
        fail(f"{APP} still runs a minute after `up` (started at {started}): did {DB} answer "
             f"before {APP} asked? Build {DB} with a gate, as the cell above does")
    code, logs = stopped.attrs["State"]["ExitCode"], project.logs(APP)
    if code == 0 or "connect" not in logs.lower():
        fail(f"{APP} exited with {code}, logging {logs!r}: not a refused connection")
    return project.ps(logs=True)


def waited_for_health(project: Project) -> pd.DataFrame | NotRun:
    """Section 4: with ``condition: service_healthy`` Compose started ``app`` only once
    ``db``'s health check passed, and ``app`` got its answer. Returns ``project.ps()``."""
    if (skipped := _missing("docker compose ps")) is not None:
        return skipped
    db, app = project.container(DB), project.container(APP)
    health = (db.attrs["State"].get("Health") or {}).get("Status")
    if health != "healthy":
        fail(f"{DB}'s health is {health!r}, not 'healthy'")
    time.sleep(0.5)  # app's curl has had time to print
    last = project.logs(APP, tail=1)
    if app.status != "running" or last != DB_SAYS:
        fail(f"{APP} is {app.status} and last logged {last!r}, not {DB_SAYS!r}")
    return project.ps(logs=True)


def segmented(matrix) -> object:
    """Section 5: web reaches api, api reaches db, and web and db never reach each other.
    Returns the heat map of ``matrix``."""
    if isinstance(matrix, NotRun):
        return matrix
    wanted = {("web", "api"): True, ("api", "db"): True, ("api", "web"): True,
              ("web", "db"): False, ("db", "web"): False}
    wrong = [f"{a} -> {b} is {bool(matrix.loc[a, b])}" for (a, b), want in wanted.items()
             if bool(matrix.loc[a, b]) != want]
    if wrong:
        fail("the tiers are not what the networks say: " + "; ".join(wrong))
    return plots.reachability(matrix, title="Who reaches whom, by service name")


def shared_by_both(lab, network, *projects: Project) -> pd.DataFrame | NotRun:
    """Section 6: the external network was made outside Compose, carries the lab's labels,
    and holds services of both projects. Returns its row of the networks table."""
    if (skipped := _missing("docker network inspect " + network.name)) is not None:
        return skipped
    network.reload()
    members = {lab.client.containers.get(cid).labels.get(PROJECT_LABEL)
               for cid in network.attrs.get("Containers") or {}}
    if PROJECT_LABEL in (network.attrs.get("Labels") or {}):
        fail(f"{network.name} carries Compose's project label: Compose made it")
    if not {p.name for p in projects} <= members:
        fail(f"{network.name} holds containers of {sorted(members)}, not of every project")
    return projects[-1].networks_table()


def external_stays(lab, network, project: Project) -> pd.DataFrame | NotRun:
    """Section 6: after ``docker compose down``, the project's containers are gone and the
    external network is still there. Returns the remaining networks table."""
    if (skipped := _missing("docker compose down")) is not None:
        return skipped
    if project.containers():
        fail(f"{project.name} still has containers after down")
    try:
        network.reload()
    except docker.errors.NotFound:
        fail(f"docker compose down removed the external network {network.name}")
    return pd.DataFrame([{"network": network.name, "still there": True,
                          "lab labels": owned_by(network.attrs.get("Labels"), lab.learner)}])


def shares_namespace(project: Project, owner: str = "web", guest: str = "debug"):
    """Section 7: ``network_mode: service:web`` became Docker's ``container:<web's id>``.
    Returns the two containers' network settings."""
    if (skipped := _missing("docker inspect")) is not None:
        return skipped
    owner_c, guest_c = project.container(owner), project.container(guest)
    mode = guest_c.attrs["HostConfig"]["NetworkMode"]
    if mode != f"container:{owner_c.id}":
        fail(f"{guest}'s network mode is {mode}, not container:<{owner}'s id>")
    return pd.DataFrame([{"service": s, "NetworkMode": c.attrs["HostConfig"]["NetworkMode"][:22],
                          "networks": ", ".join(c.attrs["NetworkSettings"]["Networks"] or {})
                          or "(none of its own)"} for s, c in ((owner, owner_c), (guest, guest_c))])


def all_gone(project: Project) -> pd.DataFrame | NotRun:
    """Section 8: after ``docker compose down`` nothing of the project is left. Returns the
    (empty) list of what Docker still has for it."""
    if (skipped := _missing("docker compose down")) is not None:
        return skipped
    client = project.lab.client
    left = [c.name for c in project.containers()]
    left += [n.name for n in client.networks.list(filters={"label": f"{PROJECT_LABEL}={project.name}"})]
    if left:
        fail(f"docker compose down left {left}")
    return pd.DataFrame({"left of " + project.name: left})


# -- exercises -----------------------------------------------------------------------------


def worker_placed(lab) -> CheckResult:
    """Exercise 1: a ``worker`` service of the ``shop`` project reaches ``db`` by name and
    cannot reach ``web``."""
    if not compose.version():
        return CheckResult(True, praise="Compose is missing here: nothing to check. "
                           + compose.HOW_TO_GET)
    name = docker_name(lab.learner, lab.lesson, SHOP)
    found = lab.client.containers.list(all=True, filters={"label": [
        f"{PROJECT_LABEL}={name}", f"{SERVICE_LABEL}={WORKER}"]})
    if not found:
        return CheckResult(False, f"The {SHOP} project has no {WORKER} service yet: add it to "
                           f"shop.services and run shop.up() again.")
    from .. import probe

    worker = found[0]
    # A just-started worker on a busy daemon (a classroom, or lessons run side by side) may
    # miss its first lookup or lose an exec's output: reaching db gets three tries, while
    # not reaching web needs one (load never makes a curl succeed).
    to_db = None
    if worker.status == "running":
        for _ in range(3):
            to_db = probe.heard(probe.curl(worker, f"http://{DB}:{DB_PORT}/", timeout=3))
            if to_db.ok:
                break
    to_web = probe.curl(worker, f"http://{WEB}:8000/", timeout=2) if worker.status == "running" else None
    return verdict([
        (worker.status == "running", f"{WORKER} is {worker.status}: give it a command that keeps "
                                     "running, as compose.idle_service does."),
        (owned_by(worker.labels, lab.learner, lab.lesson), f"{WORKER} lacks the lab's labels: "
                                                           "start it with shop.up()."),
        (to_db is not None and to_db.ok, f"{WORKER} cannot reach {DB}: which network is {DB} on?"),
        (to_web is not None and not to_web.ok, f"{WORKER} reaches {WEB}: a worker has no business "
                                               "with the web tier; which network brings it there?"),
    ], praise=f"{WORKER} reaches {DB} and not {WEB}.")


def names_prediction(lab, network_name, container_name) -> CheckResult:
    """Exercise 2: the Docker names of project ``notes``'s default network and of the first
    container of its service ``api``."""
    project = docker_name(lab.learner, lab.lesson, NOTES)
    want_net, want_container = f"{project}_default", f"{project}-{NOTES_SERVICE}-1"
    for given, what in ((network_name, "network_name"), (container_name, "container_name")):
        if given is not None and not isinstance(given, str):
            return CheckResult(False, f"`{what}` is {given!r}: set it to a string.")
    return verdict([
        (bool(network_name) and network_name.startswith(project),
         f"Compose puts the project name first, and the project is {project!r} (not 'notes': "
         "the lab makes it per learner)."),
        (network_name == want_net, "The network's name joins project and network name with one "
                                   "character: which? Look at section 2's table."),
        (bool(container_name) and container_name.startswith(project + "-" + NOTES_SERVICE),
         "A container's name is the project, then the service, joined by another character "
         "than the network's."),
        (container_name == want_container, "Compose numbers a service's containers: what does "
                                           "the first one end with?"),
    ], praise="Those are Compose v2's names: an underscore for networks, hyphens for containers.")
