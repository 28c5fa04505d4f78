"""A JupyterHub of the classroom's config, run for the test on free ports of 127.0.0.1.

:class:`HubProcess` starts the hub (which starts its proxy), adds users, logs them in, starts and
stops their servers through the REST API, and at the end stops everything it started: the
servers through the API, the hub with SIGTERM (it stops its servers and its proxy), and any
process of this run that outlived it, found by its environment and ended by its pid.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

from hubclient import Hub, HubTestError

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("jupyterhub_test_config.py")
HUB = ROOT / ".venv" / "bin" / "jupyterhub"
PROXY = ROOT / ".hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
STOP_GRACE_S = 30


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HubProcess:
    """The hub of one test run: its users, password, instructor token and engine map.

    Args:
        folder: the hub's state (database, cookie secret, homes, log); the caller removes it.
        deadline: a ``time.monotonic()`` value no wait goes past.
        users: how many users (named ``hub-<random>-1`` and on).
    """

    def __init__(self, folder: Path, deadline: float, users: int = 3):
        self.folder, self.deadline = folder, deadline
        tag = secrets.token_hex(3)
        self.users = [f"hub-{tag}-{n}" for n in range(1, users + 1)]
        self.password = secrets.token_urlsafe(12)
        self.token = secrets.token_hex(32)
        self.url = f"http://127.0.0.1:{free_port()}"
        self.engine_map = folder / "engines.txt"
        self.engine_map.write_text("# user DOCKER_HOST (tests/hub/run_hub_test.py)\n")
        self.log = folder / "hub.log"
        self.process: subprocess.Popen | None = None

    def start(self, docker_host: str, config: Path = CONFIG) -> str:
        """Start the hub; ``docker_host`` is the engine of users the map does not name.

        Returns:
            str: JupyterHub's version, once its API answers through the proxy.
        """
        env = {key: value for key, value in os.environ.items() if key != "DOCKERNET_LEARNER"}
        env.update({
            "DOCKER_HOST": docker_host,
            "DOCKERNET_HUB_DIR": str(self.folder), "DOCKERNET_HUB_URL": self.url,
            "DOCKERNET_HUB_PASSWORD": self.password, "DOCKERNET_HUB_API_TOKEN": self.token,
            "DOCKERNET_HUB_ENGINE_MAP": str(self.engine_map),
            "DOCKERNET_HUB_TEST_HUB_URL": f"http://127.0.0.1:{free_port()}",
            "DOCKERNET_HUB_TEST_PROXY_API_URL": f"http://127.0.0.1:{free_port()}",
            "PATH": f"{HUB.parent}:{env.get('PATH', '')}"})
        with open(self.log, "ab") as log:
            # A session of its own: a last-resort kill of its group reaches the hub and its proxy.
            self.process = subprocess.Popen([str(HUB), "-f", str(config)], cwd=self.folder,
                                            env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return Hub(self.url).wait_until_up(min(self.deadline, time.monotonic() + 120))

    def admin(self) -> Hub:
        """The hub's API as the instructor's service (``DOCKERNET_HUB_API_TOKEN``)."""
        return Hub(self.url, self.token)

    def add_users(self) -> None:
        """The instructor adds the users through the REST API."""
        self.admin().api("POST", "/users", json={"usernames": self.users})

    def login(self, user: str, password: str | None = None) -> str:
        """A token for ``user``, by user name and password through the REST API."""
        reply = Hub(self.url).api("POST", f"/users/{user}/tokens", json={
            "auth": {"username": user, "password": password or self.password},
            "note": "tests/hub login", "expires_in": 3600})
        return reply["token"]

    def login_refused(self, user: str) -> bool:
        """Whether a wrong password gets HTTP 403 (:meth:`Hub.api` raises on anything else)."""
        Hub(self.url).api("POST", f"/users/{user}/tokens", expect=(403,), json={
            "auth": {"username": user, "password": "not-" + self.password}})
        return True

    def start_servers(self, hubs: dict) -> None:
        """Each user starts their own server (``hubs``: user name → :class:`Hub` with their token)."""
        for name, hub in hubs.items():
            hub.api("POST", f"/users/{name}/server")
        for name, hub in hubs.items():
            hub.wait_until_ready(name, self.deadline)

    def stop_servers(self, names: list[str]) -> None:
        """The instructor stops these users' servers; wait until the hub says they are gone."""
        admin = self.admin()
        for name in names:
            admin.api("DELETE", f"/users/{name}/server", expect=(202, 204, 400, 404))
        limit = time.monotonic() + 60
        while time.monotonic() < limit:
            users = [admin.api("GET", f"/users/{name}", expect=(200, 404)) or {} for name in names]
            if not any(user.get("servers") or user.get("pending") for user in users):
                return
            time.sleep(0.5)
        raise HubTestError(f"the servers of {names} did not stop within 60 s")

    def stop(self) -> list[str]:
        """Stop the servers, the hub and its proxy; what went wrong, never raised."""
        problems = []
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop_servers(self.users)
            except Exception as exc:  # noqa: BLE001 - the hub stops them too, below
                problems.append(f"stopping the servers: {exc}")
            # SIGTERM: the hub stops the servers it still runs and its proxy, then exits.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                problems.append("the hub ignored SIGTERM: killed its process group")
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return problems + self.kill_leftover_processes()

    def kill_leftover_processes(self) -> list[str]:
        """Servers, kernels or a proxy of this run that outlived the hub, found by environment.

        Servers and kernels carry ``JUPYTERHUB_USER=<one of this run's users>``, the proxy the
        hub's ``DOCKERNET_HUB_DIR``; nothing else on the machine has either.
        """
        marks = [f"JUPYTERHUB_USER={name}".encode() for name in self.users]
        marks.append(f"DOCKERNET_HUB_DIR={self.folder}".encode())
        problems = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                environ = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(mark in environ for mark in marks) and int(proc.name) != os.getpid():
                problems.append(f"process {proc.name} outlived the hub: killed")
                try:
                    os.kill(int(proc.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return problems
