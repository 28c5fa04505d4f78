"""``jupyter lab`` started the way ``make lab`` starts it, for a test, then shut down.

The server gets test-only settings, config, runtime, workspace, checkpoint and IPython
folders (a learner's own are never read or written, and nothing lands beside the
notebooks), a free localhost port and a token.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

#: Test-only JupyterLab user settings (JUPYTERLAB_SETTINGS_DIR).
LAB_SETTINGS = {
    # JupyterLab 4 leaves off-screen cells out of the page otherwise: their outputs could not be
    # checked, nor seen in a screenshot.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # Running a notebook must never write its outputs into the repository's notebooks/.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # No news, update or extension requests to the outside, and no toast asking for them.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, to prove that a run left it as it was."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class JupyterLab:
    """``jupyter lab --notebook-dir=DIR`` on a free localhost port, with a token.

    Args:
        notebook_dir (Path): the folder it serves (``make lab`` serves notebooks/).
        env (dict): added to the server's environment; its kernels inherit it
            (``DOCKERNET_LEARNER`` above all).
        timeout (float): seconds to wait for the server to answer.
    """

    def __init__(self, notebook_dir: Path | str, env: dict | None = None, timeout: float = 90):
        self.notebook_dir = Path(notebook_dir).resolve()
        self.env = env or {}
        self.timeout = timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self._home = tempfile.TemporaryDirectory(prefix="dockernet-browser-")
        self.log_path = Path(self._home.name) / "jupyter.log"
        self._process = None

    def _environment(self) -> dict:
        home = Path(self._home.name)
        for name, settings in LAB_SETTINGS.items():
            path = home / "lab-settings" / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        return {**os.environ, **self.env,
                "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
                "JUPYTER_CONFIG_DIR": str(home / "config"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "IPYTHONDIR": str(home / "ipython")}

    def __enter__(self) -> JupyterLab:
        command = [str(Path(sys.executable).parent / "jupyter"), "lab",
                   f"--notebook-dir={self.notebook_dir}", "--no-browser",
                   "--ServerApp.open_browser=False", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}",
                   # Opening a notebook makes a checkpoint: keep it out of the served folder.
                   f"--FileCheckpoints.checkpoint_dir={Path(self._home.name) / 'checkpoints'}",
                   # window.jupyterapp: the test runs JupyterLab's own commands and reads its models.
                   "--LabApp.expose_app_in_browser=True"]
        if os.geteuid() == 0:
            command.append("--allow-root")  # as `make lab` does for root
        with self.log_path.open("w") as log:
            self._process = subprocess.Popen(command, env=self._environment(), stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                self._api("GET", "/api/status")
                return self
            except OSError:
                time.sleep(0.5)
        why = (f"exited with {self._process.returncode}" if self._process.poll() is not None
               else f"did not answer within {self.timeout:.0f} s")
        log = self.log()
        self.__exit__(None, None, None)
        raise RuntimeError(f"jupyter lab {why}:\n{log}")

    def _api(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def log(self) -> str:
        """The end of the server's log, to show when something went wrong."""
        return self.log_path.read_text(errors="replace")[-4000:]

    def __exit__(self, *exc) -> None:
        """Shut the server down through its API (it stops its kernels), killing it if it hangs."""
        try:
            if self._process and self._process.poll() is None:
                try:
                    self._api("POST", "/api/shutdown")
                    self._process.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    self._process.kill()
                    self._process.wait(timeout=30)
        finally:
            self._home.cleanup()
