"""Talk to a JupyterHub and to its users' servers the way a browser would, with no browser.

- :class:`Hub`: the hub's REST API (``/hub/api``) with a token.
- :class:`RemoteKernel`: a kernel in a user's server, started through the server's REST API
  (``/user/<name>/api/sessions``) and driven over its websocket
  (``/user/<name>/api/kernels/<id>/channels``), as JupyterLab does. Each cell's outputs come
  back as nbformat outputs, so the notebook tests' checks (tests/nbrun.py) read them unchanged.

Only ``requests`` and ``websocket-client`` (both in the venv) are used: the single-user server is
a plain jupyter_server behind the hub's proxy, and its kernel protocol over a websocket is JSON
messages with a ``channel`` field (Jupyter's messaging spec, version 5.3).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import nbformat
import requests
import websocket


class HubTestError(AssertionError):
    """Something the hub test expected did not happen; the message says what."""


class Hub:
    """The hub's REST API at ``url`` (e.g. ``http://127.0.0.1:8000``), as the owner of ``token``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"token {token}"

    def api(self, method: str, path: str, expect=(200, 201, 202, 204), **kwargs):
        """Call ``/hub/api<path>``; the decoded JSON (or ``None``); raise unless ``expect``ed."""
        response = self.session.request(method, f"{self.url}/hub/api{path}",
                                        timeout=self.timeout, **kwargs)
        if response.status_code not in expect:
            raise HubTestError(f"{method} /hub/api{path}: HTTP {response.status_code} "
                               f"{response.text[:300]}")
        return response.json() if response.content else None

    def server(self, user: str, method: str, path: str, expect=(200, 201, 204), **kwargs):
        """Call the REST API of ``user``'s server through the proxy (``/user/<name>/api<path>``)."""
        response = self.session.request(method, f"{self.url}/user/{user}/api{path}",
                                        timeout=self.timeout, **kwargs)
        if response.status_code not in expect:
            raise HubTestError(f"{method} /user/{user}/api{path}: HTTP {response.status_code} "
                               f"{response.text[:300]}")
        return response.json() if response.content else None

    def wait_until_up(self, deadline: float) -> str:
        """Wait for the hub's API to answer (through the proxy); return JupyterHub's version."""
        last = ""
        while time.monotonic() < deadline:
            try:
                return self.api("GET", "/")["version"]
            except (requests.RequestException, HubTestError) as exc:
                last = str(exc)
            time.sleep(0.5)
        raise HubTestError(f"the hub did not answer at {self.url} in time (last: {last[:200]})")

    def wait_until_ready(self, user: str, deadline: float) -> dict:
        """Wait for ``user``'s default server to be ready; return its model."""
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}")
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return server
            if not server and not model.get("pending"):
                raise HubTestError(f"{user}'s server stopped while starting (see the hub's log)")
            time.sleep(0.5)
        raise HubTestError(f"{user}'s server was not ready in time")


@dataclass
class CellRun:
    """What one cell produced: nbformat outputs, and the error's name and value if it raised."""

    outputs: list = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def text(self) -> str:
        """The cell's text outputs joined (stream text and ``text/plain``)."""
        return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                       for o in self.outputs)


class RemoteKernel:
    """A python3 kernel for the notebook at ``path`` in ``user``'s server, over its websocket.

    Example (``hub`` holds ``alice``'s token)::

        kernel = RemoteKernel(hub, "alice", "notebooks/02-user-defined-bridge.ipynb")
        kernel.execute("1 + 1", deadline=time.monotonic() + 30).text()   # '2'
        kernel.close()
    """

    def __init__(self, hub: Hub, user: str, path: str):
        self.hub, self.user = hub, user
        session = hub.server(user, "POST", "/sessions", json={
            "path": path, "name": path.rsplit("/", 1)[-1], "type": "notebook",
            "kernel": {"name": "python3"}})
        self.session_id, self.kernel_id = session["id"], session["kernel"]["id"]
        self.client_session = uuid.uuid4().hex
        self.ws: websocket.WebSocket | None = None

    def connect(self) -> None:
        """Open the kernel's websocket (the kernel itself keeps running without one)."""
        ws_url = self.hub.url.replace("http", "ws", 1)
        self.ws = websocket.create_connection(
            f"{ws_url}/user/{self.user}/api/kernels/{self.kernel_id}/channels"
            f"?session_id={self.client_session}",
            header=[f"Authorization: {self.hub.session.headers['Authorization']}"], timeout=30)

    def disconnect(self) -> None:
        """Close the websocket while nobody reads it.

        The server pings every 30 s and drops a websocket whose pongs stop (websocket-client
        answers pings only inside ``recv``): a learner waiting for slower ones would lose it.
        """
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def execute(self, code: str, deadline: float) -> CellRun:
        """Run ``code``; collect its outputs until the kernel is idle again (or the deadline)."""
        if self.ws is None:
            self.connect()
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.user,
                       "session": self.client_session, "version": "5.3",
                       "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        run, replied, idle, start = CellRun(), False, False, time.monotonic()
        while not (replied and idle):
            left = deadline - time.monotonic()
            if left <= 0:
                raise HubTestError(f"{self.user}: a cell ran past the deadline:\n{code[:300]}")
            self.ws.settimeout(left)
            frame = self.ws.recv()
            if not frame:  # a close frame: the server dropped the websocket
                raise HubTestError(f"{self.user}: the server closed the kernel's websocket "
                                   "(the hub's log says why)")
            message = json.loads(frame)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue  # e.g. widget comms or another request's status
            kind, content = message["msg_type"], message["content"]
            if message["channel"] == "shell" and kind == "execute_reply":
                replied = True
                if content.get("status") == "error" and not run.error:
                    run.error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind in ("stream", "execute_result", "display_data", "error"):
                if kind == "stream":
                    output = nbformat.v4.new_output("stream", name=content["name"],
                                                    text=content["text"])
                elif kind == "error":
                    output = nbformat.v4.new_output("error", ename=content["ename"],
                                                    evalue=content["evalue"],
                                                    traceback=content["traceback"])
                    run.error = f"{content['ename']}: {content['evalue']}"
                else:
                    output = nbformat.v4.new_output(kind, data=content.get("data", {}),
                                                    metadata=content.get("metadata", {}))
                run.outputs.append(output)
        run.seconds = time.monotonic() - start
        return run

    def close(self) -> None:
        """Close the websocket and shut the kernel down (its session goes with it)."""
        try:
            self.disconnect()
        finally:
            self.hub.server(self.user, "DELETE", f"/sessions/{self.session_id}",
                            expect=(204, 404))
