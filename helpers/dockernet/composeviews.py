"""Looking at what Compose made of a project: its containers, networks and reachability.

:class:`ProjectViews` is the half of :class:`dockernet.compose.Project` that reads the
daemon (by Compose's own project label) and probes between services; the other half,
in :mod:`dockernet.compose`, writes the files and runs ``docker compose``. Where Compose
is missing, the probes return the project's ``NotRun`` explanation instead.

>>> from dockernet import compose
>>> project = compose.Project(lab, "views", {"web": compose.hello_service(lab)})
>>> project.up().ok, list(project.ps().service), project.curl("web", "http://web:8000/").output
(True, ['web'], 'Hello Docker!')
>>> project.down().ok
True
"""

from __future__ import annotations

import shlex
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from . import probe
from .lab import HELLO_PORT
from .naming import owned_by

#: Compose's own labels on what it creates.
PROJECT_LABEL, SERVICE_LABEL = "com.docker.compose.project", "com.docker.compose.service"


class ProjectViews:
    """Names, containers, tables and probes of a Compose project (a mixin of ``Project``:
    it reads ``lab``, ``name``, ``stack``, ``services``, ``networks``, ``available``,
    ``own_networks()`` and ``_not_run()``)."""

    def container_name(self, service: str) -> str:
        """Compose v2's name for a service's first container: ``<project>-<service>-1``."""
        return f"{self.name}-{service}-1"

    def network_name(self, network: str = "default") -> str:
        """Compose's name for a project network: ``<project>_<network>`` (an underscore)."""
        spec = self.networks.get(network) or {}
        return spec.get("name") or f"{self.name}_{network}"

    def containers(self) -> list:
        """The project's containers (docker SDK objects), by Compose's project label."""
        found = self.lab.client.containers.list(
            all=True, filters={"label": [f"{PROJECT_LABEL}={self.name}"]})
        return sorted(found, key=lambda c: c.labels.get(SERVICE_LABEL, ""))

    def container(self, service: str):
        """The running container of ``service``, freshly inspected."""
        return self.lab.get_container(f"{self.stack}-{service}-1")

    def exec(self, service: str, cmd, timeout: float = 10):
        """Run a command in a service's container (``docker compose exec SERVICE ...``)."""
        if not self.available:
            shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
            return self._not_run(f"docker compose exec {service} {shown}")
        return probe.run(self.container(service), cmd, timeout=timeout)

    def curl(self, service: str, url: str, timeout: float = 3):
        """``curl URL`` from inside a service's container."""
        if not self.available:
            return self._not_run(f"docker compose exec {service} curl {url}")
        return probe.curl(self.container(service), url, timeout=timeout)

    def logs(self, service: str, tail: int = 5) -> str:
        """A service's last log lines (``docker compose logs SERVICE``)."""
        if not self.available:
            return str(self._not_run(f"docker compose logs {service}"))
        found = [c for c in self.containers() if c.labels.get(SERVICE_LABEL) == service]
        return found[0].logs(tail=tail).decode(errors="replace").strip() if found else ""

    def wait_exit(self, service: str, timeout: float = 20):
        """Wait (at most ``timeout`` s) for a service's container to stop; it, or ``None``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [c for c in self.containers() if c.labels.get(SERVICE_LABEL) == service]
            if found and found[0].status == "exited":
                return found[0]
            time.sleep(0.3)
        return None

    def ps(self, logs: bool = False) -> pd.DataFrame:
        """``docker compose ps -a``: each container, its state, networks and published ports
        (and its last log line, with ``logs``)."""
        rows = []
        for c in self.containers():
            state = c.attrs["State"]
            ports = [f"{b['HostIp']}:{b['HostPort']}->{p}" for p, binds in
                     (c.attrs["NetworkSettings"]["Ports"] or {}).items() for b in binds or []]
            mode = c.attrs["HostConfig"]["NetworkMode"][:22]  # container:<id>, shortened
            nets = list(c.attrs["NetworkSettings"]["Networks"] or {})
            rows.append({"service": c.labels.get(SERVICE_LABEL), "container": c.name,
                         "state": state["Status"] + (f" ({state['ExitCode']})"
                                                     if state["Status"] == "exited" else ""),
                         "networks": ", ".join(nets) or mode, "ports": ", ".join(ports),
                         "lab labels": owned_by(c.labels, self.lab.learner, self.lab.lesson)})
            if logs:
                rows[-1]["last log line"] = c.logs(tail=1).decode(errors="replace").strip()
        return pd.DataFrame(rows, columns=["service", "container", "state", "networks", "ports",
                                           "lab labels", *(["last log line"] if logs else [])])

    def networks_table(self) -> pd.DataFrame:
        """The project's networks (and the external ones it joins): subnet, services on it."""
        rows = []
        for net in [*self.own_networks(), *(n for n in self.networks if n not in self.own_networks())]:
            try:
                found = self.lab.client.networks.get(self.network_name(net))
            except Exception:  # noqa: BLE001 - not created (yet, or any more)
                continue
            config = (found.attrs.get("IPAM") or {}).get("Config") or [{}]
            members = [self.lab.client.containers.get(cid).labels.get(SERVICE_LABEL, "?")
                       for cid in found.attrs.get("Containers") or {}]
            rows.append({"in the file": net, "Docker's name": found.name,
                         "subnet": config[0].get("Subnet", ""), "services": ", ".join(sorted(members)),
                         "created by": "Compose" if PROJECT_LABEL in (found.attrs.get("Labels") or {})
                         else "not Compose (external)",
                         "lab labels": owned_by(found.attrs.get("Labels"), self.lab.learner)})
        return pd.DataFrame(rows, columns=["in the file", "Docker's name", "subnet", "services",
                                           "created by", "lab labels"])

    def reachability(self, services: list, ports: dict | None = None, timeout: float = 2):
        """Who reaches whom by service name: curl ``http://TARGET:PORT/`` from each service.

        Args:
            services (list): service names, the sources and the targets.
            ports (dict): each target's port (default :data:`~dockernet.lab.HELLO_PORT`).
        """
        if not self.available:
            return self._not_run(f"curl between {', '.join(services)}")
        ports = ports or {}
        containers = {s: self.container(s) for s in services}

        def reaches(pair) -> bool:
            source, target = pair
            url = f"http://{target}:{ports.get(target, HELLO_PORT)}/"
            result = probe.curl(containers[source], url, timeout=timeout)
            return result.ok and result.rerun().ok

        pairs = [(s, t) for s in services for t in services]
        with ThreadPoolExecutor(max_workers=min(8, len(pairs))) as pool:
            found = dict(zip(pairs, pool.map(reaches, pairs)))
        return pd.DataFrame([[found[(s, t)] for t in services] for s in services],
                            index=pd.Index(services, name="from"),
                            columns=pd.Index(services, name="to"))
