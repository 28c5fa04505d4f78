"""The JupyterHub classroom, tested end to end: three learners run lesson 02 at once.

    .venv/bin/python tests/hub/run_hub_test.py [--timeout 900] [--keep]

Needs ``bash .ci/install-hub`` (jupyterhub in the venv, configurable-http-proxy in .hub/node),
the lab image on the host's engine, and for the second part the test engine running with the
lab image (``make engine``; its ``DOCKER_HOST`` is ``dockernet.testengine.docker_host()``).

What it does, with the classroom's own config (classroom/jupyterhub/jupyterhub_config.py, through
tests/hub/jupyterhub_test_config.py, which only moves the hub's internal ports):

1. starts a hub on 127.0.0.1 on free ports, with a shared password and an instructor token;
2. the instructor adds three users (``hub-<random>-1..3``) through the REST API; each logs in
   through the REST API (user name and password for a token; a wrong password is refused) and
   starts their server with their own token;
3. **one host**: each user's kernel, in their own server, runs every cell of lesson 02 at the
   same time as the others. Before the lesson's cleanup cell the test checks, from inside each
   kernel and from outside on the daemon: the learner id came from ``JUPYTERHUB_USER``; every
   object the kernel's lab lists carries that learner's label; the three kernels' objects are
   disjoint, and each kernel lists exactly what the daemon holds for its learner. Then the
   cleanup cells run one user at a time, and each removes its own objects and nobody else's;
4. **beyond one host**: the engine map sends user 1 to the host's engine and user 2 to the test
   engine (``DOCKER_HOST`` set by the spawner's environment); their servers restart, lesson 02
   runs in both at once, and each user's objects are on their own engine only;
5. stops the servers, the hub and its proxy, removes every object of the three learner ids on
   both engines (by label) and the temporary folder.

Bounded: ``--timeout`` seconds in all (each cell shares it); past it the run fails and still
cleans up. Prints ``hub: N passed, M failed`` last; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker
import nbformat
from dockernet import image, testengine
from dockernet.cleanup import lab_objects, remove_lab_objects
from dockernet.naming import sanitize_learner
from hubclient import Hub, HubTestError, RemoteKernel
from hubprocess import HUB, PROXY, HubProcess

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from nbrun import failed_checks, outputs_text  # noqa: E402 - needs the path above

LESSON = "notebooks/02-user-defined-bridge.ipynb"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"

#: Run in each kernel before the lesson: who the kernel thinks it is, and where its engine is.
WHOAMI = """import json as _j, os as _o
from dockernet import naming as _n
from dockernet.connect import get_client as _gc
print("HUBPROBE " + _j.dumps({"user": _o.environ.get("JUPYTERHUB_USER"),
      "learner": _n.learner_id(), "docker_host": _o.environ.get("DOCKER_HOST"),
      "daemon": _gc().info()["ID"]}))"""
#: Run in each kernel before the lesson's cleanup cell: what this learner's lab lists.
LISTING = """print("HUBPROBE " + _j.dumps({"learner": lab.learner,
      "containers": {c.id: c.labels.get("dockernet.learner")
                     for c in lab.containers(include_tools=True)},
      "networks": {n.id: (n.attrs.get("Labels") or {}).get("dockernet.learner")
                   for n in lab.networks()}}))"""


class Checks:
    """Counts what passed; a failed check raises at once (the cleanup still runs)."""

    def __init__(self):
        self.passed = 0

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            raise HubTestError(what)
        self.passed += 1


def host_engine() -> str:
    """The host's engine: ``DOCKER_HOST`` unless that is the test engine, else the default socket.

    ``make test-engines`` points ``DOCKER_HOST`` at the test engine and says where the host's
    engine is in ``DOCKERNET_OUTER_DOCKER_HOST``.
    """
    given = os.environ.get("DOCKER_HOST", "")
    if given and given != testengine.docker_host():
        return given
    return os.environ.get("DOCKERNET_OUTER_DOCKER_HOST") or DEFAULT_SOCKET


def probe(run) -> dict:
    """The JSON a probe cell printed after ``HUBPROBE``."""
    for line in run.text().splitlines():
        if line.startswith("HUBPROBE "):
            return json.loads(line[len("HUBPROBE "):])
    raise HubTestError(f"a probe printed no result: {run.error or run.text()[:300]}")


def must_show(lesson: str) -> list[str]:
    """What the notebook tests require lesson ``lesson``'s outputs to contain."""
    path = ROOT / "tests" / "notebooks" / "test_lessons.py"
    spec = importlib.util.spec_from_file_location("hub_must_show", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUST_SHOW[lesson]


class Learner:
    """One user of the hub: their token, their kernel and the lesson's notebook as it ran."""

    def __init__(self, name: str, hub_url: str, token: str):
        self.name, self.learner = name, sanitize_learner(name)
        self.hub = Hub(hub_url, token)
        self.notebook = nbformat.read(str(ROOT / LESSON), as_version=4)
        self.kernel: RemoteKernel | None = None
        self.whoami: dict = {}
        self.listing: dict = {}
        self.error = ""

    def code_cells(self):
        return [cell for cell in self.notebook.cells if cell.cell_type == "code"]

    def run_cells(self, cells, deadline: float) -> None:
        for cell in cells:
            run = self.kernel.execute(cell.source, deadline)
            cell.outputs = run.outputs
            if run.error:
                raise HubTestError(f"{self.name}: cell failed: {run.error}\n{cell.source[:300]}")

    def run_lesson(self, deadline: float, barrier: threading.Barrier) -> None:
        """Every cell but the last (the cleanup), the listing, then wait for the others."""
        try:
            self.kernel = RemoteKernel(self.hub, self.name, LESSON)
            self.whoami = probe(self.kernel.execute(WHOAMI, deadline))
            self.run_cells(self.code_cells()[:-1], deadline)
            self.listing = probe(self.kernel.execute(LISTING, deadline))
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if self.kernel is not None:
                self.kernel.disconnect()  # the cleanup cell reconnects
            try:
                barrier.wait(timeout=max(1, deadline - time.monotonic()))
            except threading.BrokenBarrierError:
                pass


class ClassroomTest:
    """The checks of one run: a hub, its learners, and the engines their objects must be on."""

    def __init__(self, hub: HubProcess, engines: dict):
        self.hub, self.engines = hub, engines
        self.deadline = hub.deadline
        self.checks = Checks()

    def users_log_in(self) -> list[Learner]:
        """The instructor adds the users; each logs in with name and password (REST API)."""
        self.hub.add_users()
        self.checks.check(self.hub.login_refused(self.hub.users[0]),
                          "a wrong password was not refused")
        return [Learner(name, self.hub.url, self.hub.login(name)) for name in self.hub.users]

    def start_servers(self, learners: list[Learner]) -> None:
        self.hub.start_servers({learner.name: learner.hub for learner in learners})

    def run_lesson(self, learners: list[Learner], expected_engine: dict) -> None:
        """Lesson 02 in every learner's server at once; the checks; the cleanups one by one."""
        start = time.monotonic()
        barrier = threading.Barrier(len(learners) + 1)
        threads = [threading.Thread(target=learner.run_lesson, args=(self.deadline, barrier),
                                    daemon=True) for learner in learners]
        for thread in threads:
            thread.start()
        try:
            barrier.wait(timeout=max(1, self.deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            pass
        for thread in threads:
            thread.join(timeout=max(1, self.deadline - time.monotonic()))
        failed = [f"{learner.name}: {learner.error or 'still running at the deadline'}"
                  for learner, thread in zip(learners, threads)
                  if learner.error or thread.is_alive()]
        self.checks.check(not failed, "lesson 02 failed:\n" + "\n".join(failed))
        print(f"hub:   {len(learners)} kernels ran lesson 02 at once in "
              f"{time.monotonic() - start:.1f} s", flush=True)
        self.check_identity(learners, expected_engine)
        self.check_objects(learners, expected_engine)
        for learner in learners:
            self.cleanup_one(learner, learners, expected_engine)
        for learner in learners:
            checks = failed_checks(learner.notebook)
            self.checks.check(not checks, f"{learner.name}: a self-check failed: {checks}")
            text = outputs_text(learner.notebook)
            missing = [s for s in must_show("02") if s not in text]
            self.checks.check(not missing, f"{learner.name}: lesson 02 never showed {missing}")
            learner.kernel.close()

    def check_identity(self, learners: list[Learner], expected_engine: dict) -> None:
        for learner in learners:
            who, engine = learner.whoami, expected_engine[learner.name]
            self.checks.check(who["user"] == learner.name,
                              f"{learner.name}'s kernel has JUPYTERHUB_USER={who['user']!r}")
            self.checks.check(who["learner"] == learner.learner == learner.listing["learner"],
                              f"{learner.name}'s kernel is learner {who['learner']!r}, "
                              f"its lab {learner.listing['learner']!r}, "
                              f"expected {learner.learner!r}")
            self.checks.check(who["daemon"] == self.engines[engine].info()["ID"],
                              f"{learner.name}'s kernel talks to the wrong engine "
                              f"(DOCKER_HOST={who['docker_host']!r}, expected the {engine} one)")

    def outside(self, learner: Learner) -> dict:
        """Per engine, the ids of the learner's containers and networks on that daemon."""
        found = {}
        for engine, client in self.engines.items():
            objects = lab_objects(client, learner=learner.learner)
            found[engine] = ({c["Id"] for c in objects["containers"]}
                             | {n["Id"] for n in objects["networks"]})
        return found

    def check_objects(self, learners: list[Learner], expected_engine: dict) -> None:
        listed = {}
        for learner in learners:
            mine = {**learner.listing["containers"], **learner.listing["networks"]}
            self.checks.check(bool(learner.listing["containers"]) and bool(mine),
                              f"{learner.name}'s lab lists no containers before its cleanup")
            strangers = {key: who for key, who in mine.items() if who != learner.learner}
            self.checks.check(not strangers, f"{learner.name}'s kernel sees objects of other "
                                             f"learners: {strangers}")
            outside = self.outside(learner)
            engine = expected_engine[learner.name]
            self.checks.check(outside[engine] == set(mine),
                              f"{learner.name}: the kernel lists {len(mine)} objects, the "
                              f"{engine} engine holds {len(outside[engine])} of this learner")
            elsewhere = {e: ids for e, ids in outside.items() if e != engine and ids}
            self.checks.check(not elsewhere, f"{learner.name}'s objects are also on {elsewhere}")
            listed[learner.name] = set(mine)
        names = list(listed)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                shared = listed[first] & listed[second]
                self.checks.check(not shared, f"{first} and {second} both list {shared}")

    def cleanup_one(self, learner: Learner, learners: list[Learner], expected_engine) -> None:
        """Run ``learner``'s cleanup cell: all of theirs goes, the others' stay."""
        others = {o.name: self.outside(o) for o in learners if o is not learner}
        learner.run_cells(self.code_cells_tail(learner), self.deadline)
        left = self.outside(learner)
        self.checks.check(not any(left.values()), f"{learner.name}'s cleanup left {left}")
        for other in learners:
            if other is not learner:
                self.checks.check(self.outside(other) == others[other.name],
                                  f"{learner.name}'s cleanup changed {other.name}'s objects")

    @staticmethod
    def code_cells_tail(learner: Learner):
        last = learner.code_cells()[-1:]
        if not last or "lab.cleanup()" not in last[0].source:
            raise HubTestError(f"{LESSON}'s last code cell is not its cleanup (lab.cleanup())")
        return last

    def remove_objects(self) -> list[str]:
        """Every object of this run's learner ids, on every engine, by label; what was left."""
        problems = []
        for engine, client in self.engines.items():
            for name in self.hub.users:
                try:
                    removed = remove_lab_objects(client, learner=sanitize_learner(name))
                    if removed:
                        problems.append(f"left on the {engine} engine by {name}: "
                                        f"{removed.summary()} (removed now)")
                except Exception as exc:  # noqa: BLE001 - say it, go on with the rest
                    problems.append(f"cleaning {name} on the {engine} engine: {exc}")
        return problems


def engines() -> dict:
    """Docker clients of the host's engine and the test engine; what is missing, said at once."""
    if not HUB.exists() or not PROXY.exists():
        raise HubTestError("jupyterhub or configurable-http-proxy is missing: "
                           "run `bash .ci/install-hub`")
    found = {}
    for engine, url, fix in (("host", host_engine(), "`.venv/bin/python -m dockernet image`"),
                             ("test", testengine.docker_host(), "`make engine`")):
        try:
            client = docker.DockerClient(base_url=url, timeout=60)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means: not running
            raise HubTestError(f"the {engine} engine does not answer at {url} ({exc})") from None
        if image.find(client) is None:
            raise HubTestError(f"the {engine} engine has no lab image: run {fix}")
        found[engine] = client
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds for the whole test (default 900)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (the hub's log) even when all passed")
    args = parser.parse_args()
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="dn-hub-"))
    hub = HubProcess(folder, started + args.timeout)
    run: ClassroomTest | None = None
    failure, problems = "", []

    def out_of_time(_signum, _frame):
        raise HubTestError(f"the hub test ran past its {args.timeout:g} s")

    # A last resort if a call blocks past every deadline: the cleanup below still runs.
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.timeout) + 60)
    try:
        run = ClassroomTest(hub, engines())
        version = hub.start(host_engine())
        print(f"hub: JupyterHub {version} at {hub.url} (log: {hub.log})", flush=True)
        learners = run.users_log_in()
        print(f"hub: users {', '.join(hub.users)} logged in through the REST API", flush=True)
        run.start_servers(learners)
        print(f"hub: one host: three servers ready at {time.monotonic() - started:.1f} s",
              flush=True)
        run.run_lesson(learners, {learner.name: "host" for learner in learners})
        print("hub: one host: lesson 02 passed for all three; no kernel saw another's objects",
              flush=True)
        # Beyond one host: the map moves users 1 and 2 apart at their next server start.
        first, second = learners[0], learners[1]
        hub.stop_servers([first.name, second.name])
        hub.engine_map.write_text(f"{first.name} {host_engine()}\n"
                                  f"{second.name} {testengine.docker_host()}\n")
        for learner in (first, second):
            learner.notebook = nbformat.read(str(ROOT / LESSON), as_version=4)
        run.start_servers([first, second])
        run.run_lesson([first, second], {first.name: "host", second.name: "test"})
        print("hub: two hosts: user 1 on the host's engine and user 2 on the test engine, "
              "each one's objects on their own engine only", flush=True)
    except Exception as exc:  # noqa: BLE001 - one failure line, then the cleanup
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        problems = hub.stop() + (run.remove_objects() if run else [])
    for problem in problems:
        print(f"hub: cleanup: {problem}")
    if failure:
        print(f"hub: FAILED: {failure}\nhub: the hub's log (last lines), kept in {folder}:")
        print("\n".join(hub.log.read_text(errors="replace").splitlines()[-40:])
              if hub.log.exists() else "(none)")
    elif args.keep:
        print(f"hub: kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"hub: {time.monotonic() - started:.1f} s in all")
    print(f"hub: {run.checks.passed if run else 0} passed, {1 if failure else 0} failed")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
