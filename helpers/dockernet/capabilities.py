"""What this Docker host can do, and which lessons run fully on it.

One :class:`HostReport` holds the engine's facts (from ``docker version`` and
``docker info``) and the results of three small probes, each run in a lab
container (labelled, ``role="tool"``) of the dedicated lesson id ``doctor`` and
removed afterwards. None of them changes the host's interfaces or rules (a read-only
listing with ``iptables-legacy`` may make the kernel load its legacy table module):

- **links**: in a ``--network none`` container with ``NET_ADMIN``, make two veth
  pairs and try a macvlan on one, an ipvlan on the other, and a VXLAN link. Those
  links live and die in the container's own network namespace, but the kernel
  modules are the host's, so this answers "does macvlan/ipvlan/VXLAN work here",
  and when not, why (:func:`link_readings`).
- **firewall**: in a ``--network host`` container with ``NET_ADMIN``, ask
  ``iptables-legacy``, ``iptables-nft`` and ``nft`` (read-only listings) which
  one holds Docker's chains. Engines that report ``FirewallBackend`` in
  ``docker info`` (Docker 28+) are believed for ``nftables``.
- **nested**: start a container with the settings the simulated Docker hosts of
  lesson 10 need and check that it may mount a filesystem inside itself.

The parsing and the lessons table are pure functions of dictionaries, so they
are unit-tested without a daemon.

>>> from dockernet import capabilities
>>> report = capabilities.host_report(client)
>>> report.engine_version == client.version()["Version"], report.lab_image_present
(True, True)
>>> report.macvlan in (True, False), report.firewall_backend is not None
(True, True)
>>> capabilities.lessons_frame(report).loc["01", ["title", "status"]].tolist()
['The default bridge', 'runs fully']
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from . import compose, image
from .connect import find_daemon
from .engines import changes
from .errors import LabError
from .lab import Lab
from .syllabus import (  # noqa: F401
    FULL,
    LESSONS,
    NO,
    PARTIAL,
    LessonSupport,
    lessons_frame,
    lessons_summary,
    lessons_table,
    lessons_text,
)

#: The lesson id of the probe containers: their own namespace, reset and removed each time.
PROBE_LESSON = "doctor"

#: Each step prints its error (if any), then ``name=exit code``; the links live only in the
#: probe's namespace. macvlan and ipvlan get a parent each: a parent that already carries a
#: macvlan is busy for ipvlan (the kernel answers EBUSY, "Device or resource busy"), whatever
#: modules it has.
LINK_PROBE = (
    "ip link add v0 type veth peer name v1 2>&1; echo veth=$?; "
    "ip link add v2 type veth peer name v3 2>&1; echo veth2=$?; "
    "ip link add mv0 link v0 type macvlan mode bridge 2>&1; echo macvlan=$?; "
    "ip link add iv0 link v2 type ipvlan mode l2 2>&1; echo ipvlan=$?; "
    "ip link add vx0 type vxlan id 42 dstport 4789 dev v1 2>&1; echo vxlan=$?"
)
#: Each link kind the probe tries, and the step that made its parent.
LINK_PARENTS = {"macvlan": "veth", "ipvlan": "veth2", "vxlan": "veth"}
#: How to read iproute2's error for a refused link: (text, works, why), first match wins.
#: ``works`` is ``None`` when the refusal says nothing about the module.
LINK_ERRORS = (
    ("Unknown device type", False, "kernel module missing"),      # current kernels (extack)
    ("Operation not supported", False, "kernel module missing"),  # older kernels: EOPNOTSUPP
    # EBUSY comes from the driver itself, so its module is there: another link holds the parent.
    ("Device or resource busy", None, "parent busy: the kernel has the module, but the "
                                      "probe's parent was already in use"),
    ("Operation not permitted", None, "not permitted: the probe lacks NET_ADMIN"),
)

#: Read-only listings: which tool sees Docker's NAT chain (or nftables table)?
FIREWALL_PROBE = (
    "iptables-legacy -t nat -S DOCKER >/dev/null 2>&1; echo iptables-legacy=$?; "
    "iptables-nft -t nat -S DOCKER >/dev/null 2>&1; echo iptables-nft=$?; "
    "nft list table ip docker-bridges >/dev/null 2>&1; echo nftables=$?"
)
#: Run in the host's network namespace: IPVS, which a swarm service's virtual IP needs, is
#: loaded when ``/sys/module/ip_vs`` exists (built in or a module). Absent does not prove the
#: kernel lacks it: Docker runs ``modprobe ip_vs`` the first time a service needs it.
IPVS_PROBE = "test -e /sys/module/ip_vs -o -e /proc/net/ip_vs; echo ipvs=$?"

#: The core of the simulated hosts' settings (DESIGN.md: plain --privileged fails in some
#: sandboxes, so they get every capability but SYS_RESOURCE and no seccomp/AppArmor profile).
#: The hosts also unmask /proc paths (``systempaths=unconfined``, which docker-py's create
#: has no keyword for) and mount /sys/fs/cgroup read-write; the probe needs neither.
NESTED_HOST_SETTINGS = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
}
NESTED_PROBE = "mount -t tmpfs none /mnt && umount /mnt; echo mount=$?"



@dataclass
class HostReport:
    """This host's Docker engine and what it can do for the lessons.

    Probe results are ``True``/``False``, or ``None`` when not checked (for
    example because the lab image is missing).
    """

    daemon: str = ""
    engine_version: str = ""
    api_version: str = ""
    operating_system: str = ""
    os_type: str = ""
    docker_desktop: bool = False
    rootless: bool = False
    storage_driver: str = ""
    cgroup_version: str = ""
    swarm_state: str = ""
    swarm_manager: bool = False
    kernel_version: str = ""
    architecture: str = ""
    network_drivers: list = field(default_factory=list)
    default_bridge: bool = True
    firewall_backend: str | None = None
    firewall_source: str = ""
    macvlan: bool | None = None
    ipvlan: bool | None = None
    vxlan: bool | None = None
    #: Why a link kind is not ``True``, e.g. ``{"ipvlan": "kernel module missing"}``.
    link_notes: dict = field(default_factory=dict)
    nested_hosts: bool | None = None
    #: Whether IPVS is loaded in the kernel now (``None``: not checked; see :data:`IPVS_PROBE`).
    ipvs: bool | None = None
    #: Compose v2's version as ``docker compose version`` prints it on this machine's CLI
    #: (lesson 13); ``""`` when it is missing, ``None`` when not checked.
    compose: str | None = None
    lab_image: str = ""
    lab_image_present: bool = False
    lab_image_mb: int | None = None
    notes: list = field(default_factory=list)

    @classmethod
    def from_daemon(cls, info: dict, version: dict, **extra) -> "HostReport":
        """The engine's facts from ``docker info`` and ``docker version`` dicts (no probes).

        Keyword arguments set further fields (they win over what the dicts say).

        >>> r = HostReport.from_daemon({"OperatingSystem": "Docker Desktop",
        ...     "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]},
        ...     {"Version": "27.3.1", "ApiVersion": "1.47"})
        >>> r.docker_desktop, r.rootless, r.engine_version
        (True, True, '27.3.1')
        """
        swarm = info.get("Swarm") or {}
        backend = firewall_from_info(info)
        facts = dict(
            engine_version=version.get("Version") or info.get("ServerVersion", ""),
            api_version=version.get("ApiVersion", ""),
            operating_system=info.get("OperatingSystem", ""),
            os_type=info.get("OSType", ""),
            docker_desktop="Docker Desktop" in (info.get("OperatingSystem") or ""),
            rootless=is_rootless(info),
            storage_driver=info.get("Driver", ""),
            cgroup_version=str(info.get("CgroupVersion") or ""),
            swarm_state=swarm.get("LocalNodeState", "") or "",
            swarm_manager=bool(swarm.get("ControlAvailable")),
            kernel_version=info.get("KernelVersion", ""),
            architecture=info.get("Architecture", ""),
            network_drivers=list((info.get("Plugins") or {}).get("Network") or []),
            firewall_backend=backend,
            firewall_source="docker info" if backend else "",
        )
        return cls(**{**facts, **extra})  # extra (probe results, image state) wins

    @property
    def swarm_usable(self) -> bool:
        """Can a lesson create swarm overlays here (init a swarm, or already manage one)?"""
        if self.rootless or "overlay" not in self.network_drivers:
            return False  # rootless Docker has no overlay networks
        if self.firewall_backend == "nftables":
            return False  # Docker's nftables backend refuses swarm mode (overlays need iptables)
        if self.swarm_state == "inactive":
            return True
        return self.swarm_state == "active" and self.swarm_manager

    def rows(self) -> list[tuple[str, str]]:
        """(capability, value) pairs in reading order, values as a learner reads them."""
        image_text = (f"{self.lab_image} ({self.lab_image_mb} MB)" if self.lab_image_present
                      else f"{self.lab_image} missing: run `python -m dockernet image`")
        firewall = self.firewall_backend or "not found"
        if self.firewall_source:
            firewall += f" (from {self.firewall_source})"
        return [
            ("daemon", self.daemon),
            ("engine version", self.engine_version),
            ("API version", self.api_version),
            ("operating system", self.operating_system),
            ("Docker Desktop", _yes_no(self.docker_desktop)),
            ("rootless", _yes_no(self.rootless)),
            ("storage driver", self.storage_driver),
            ("cgroup version", self.cgroup_version),
            ("swarm state", self.swarm_state
             + ("" if self.swarm_usable else " (no overlays here)")),
            ("kernel", self.kernel_version),
            ("architecture", self.architecture),
            ("network drivers", ", ".join(self.network_drivers)),
            ("default bridge", _yes_no(self.default_bridge)),
            ("firewall backend", firewall),
            ("macvlan works", self._link_value("macvlan")),
            ("ipvlan works", self._link_value("ipvlan")),
            ("VXLAN works", self._link_value("vxlan")),
            ("simulated hosts (DinD)", _yes_no(self.nested_hosts)),
            ("IPVS loaded", _yes_no(self.ipvs) + (" (Docker loads it for a service's virtual IP "
                                                  "if the kernel has it)" if self.ipvs is False
                                                  else "")),
            ("Compose v2", "not checked" if self.compose is None else self.compose
             or "missing: Docker Desktop and docker-ce include it; Debian 12: "
                "`sudo .ci/install-compose`"),
            ("lab image", image_text),
        ]

    def _link_value(self, kind: str) -> str:
        why = self.link_notes.get(kind)
        return _yes_no(getattr(self, kind)) + (f" ({why})" if why else "")

    def to_frame(self) -> pd.DataFrame:
        """The report as a one-column DataFrame indexed by capability."""
        return pd.DataFrame(self.rows(), columns=["capability", "value"]).set_index("capability")

    def to_dict(self) -> dict:
        """Plain data for ``--json``, with the lessons table and the engine changes included."""
        data = asdict(self)
        data["swarm_usable"] = self.swarm_usable
        data["lessons"] = [asdict(row) for row in lessons_table(self)]
        data["engine_changes"] = changes(self.engine_version, self.firewall_backend)
        return data

    def __str__(self) -> str:
        width = max(len(name) for name, _ in self.rows())
        lines = [f"{name:<{width}}  {value}" for name, value in self.rows()]
        return "\n".join(lines + [f"note: {note}" for note in self.notes])

    def _repr_html_(self) -> str:
        notes = "".join(f"<p><i>note: {html.escape(n)}</i></p>" for n in self.notes)
        return self.to_frame().to_html() + notes


def _yes_no(value: bool | None) -> str:
    return "not checked" if value is None else ("yes" if value else "no")


# -- pure parsing ---------------------------------------------------------------------------


def is_rootless(info: dict) -> bool:
    """``docker info`` lists ``name=rootless`` among SecurityOptions on a rootless daemon.

    >>> is_rootless({"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]})
    True
    >>> is_rootless({"SecurityOptions": None})
    False
    """
    for option in info.get("SecurityOptions") or []:
        fields = dict(part.split("=", 1) for part in option.split(",") if "=" in part)
        if fields.get("name") == "rootless":
            return True
    return False


def firewall_from_info(info: dict) -> str | None:
    """The firewall backend an engine reports itself (Docker 28+), else ``None``.

    Only ``nftables`` is final: ``iptables`` does not say legacy or nft, so the
    probe still looks.

    >>> firewall_from_info({"FirewallBackend": {"Driver": "nftables"}})
    'nftables'
    >>> firewall_from_info({"FirewallBackend": {"Driver": "iptables+firewalld"}})
    'iptables'
    >>> firewall_from_info({}) is None
    True
    """
    driver = ((info.get("FirewallBackend") or {}).get("Driver") or "").lower()
    if driver.startswith("nftables"):
        return "nftables"
    if driver.startswith("iptables"):
        return "iptables"
    return None


def parse_exit_codes(output: str) -> dict[str, bool]:
    """``name=0`` lines from a probe script as ``{name: succeeded}``; other lines are ignored.

    >>> parse_exit_codes("veth=0\\nRTNETLINK answers: Operation not supported\\nipvlan=2")
    {'veth': True, 'ipvlan': False}
    """
    return {name: succeeded for name, (succeeded, _) in _steps(output).items()}


def _steps(output: str) -> dict[str, tuple[bool, str]]:
    """``{name: (succeeded, the error lines printed just before its name=code line)}``."""
    steps, pending = {}, []
    for line in output.splitlines():
        name, sep, code = line.strip().partition("=")
        if sep and code.isdigit() and name.replace("-", "").isalnum():
            steps[name] = (code == "0", " ".join(pending))
            pending = []
        elif line.strip():
            pending.append(line.strip())
    return steps


def link_readings(output: str) -> dict[str, tuple[bool | None, str]]:
    """Each link kind's ``(works, why)`` from :data:`LINK_PROBE`'s output.

    ``works`` is ``True``, ``False`` (the kernel refused it: ``why`` says how, see
    :data:`LINK_ERRORS`) or ``None`` when the probe could not decide: its parent
    pair was not made, or the parent was busy (EBUSY proves the module is there).

    >>> link_readings("veth=0\\nveth2=0\\nmacvlan=0\\n"
    ...               "Error: Unknown device type.\\nipvlan=2\\nvxlan=0")["ipvlan"]
    (False, 'kernel module missing')
    >>> busy = link_readings("veth=0\\nveth2=0\\nmacvlan=0\\n"
    ...                      "RTNETLINK answers: Device or resource busy\\nipvlan=2\\nvxlan=0")
    >>> busy["ipvlan"][0], busy["ipvlan"][1].split(":")[0]
    (None, 'parent busy')
    """
    steps = _steps(output)
    readings: dict[str, tuple[bool | None, str]] = {}
    for kind, parent in LINK_PARENTS.items():
        parent_ok, parent_error = steps.get(parent, (False, ""))
        if not parent_ok:
            why = "the probe could not make its parent veth pair"
            readings[kind] = (None, why + (f" ({parent_error})" if parent_error else ""))
            continue
        if kind not in steps:
            readings[kind] = (None, "the probe stopped before it")
            continue
        created, error = steps[kind]
        if created:
            readings[kind] = (True, "")
            continue
        readings[kind] = next(((works, why) for text, works, why in LINK_ERRORS if text in error),
                              (False, error or "refused"))
    return readings


def links_from_probe(output: str) -> dict[str, bool | None]:
    """macvlan/ipvlan/VXLAN support from :data:`LINK_PROBE`'s output (see :func:`link_readings`).

    >>> links_from_probe("veth=0\\nveth2=0\\nmacvlan=0\\nipvlan=2\\nvxlan=0")
    {'macvlan': True, 'ipvlan': False, 'vxlan': True}
    """
    return {kind: works for kind, (works, _) in link_readings(output).items()}


def firewall_from_probe(output: str, reported: str | None = None) -> str | None:
    """Which tool holds Docker's rules, from :data:`FIREWALL_PROBE`'s output.

    Args:
        output: the probe's ``name=exit code`` lines.
        reported: what ``docker info`` said (``"iptables"`` narrows the answer).

    >>> firewall_from_probe("iptables-legacy=1\\niptables-nft=0\\nnftables=1")
    'iptables-nft'
    >>> firewall_from_probe("iptables-legacy=1\\niptables-nft=1\\nnftables=1", "iptables")
    'iptables'
    """
    codes = parse_exit_codes(output)
    if codes.get("nftables") and reported != "iptables":
        return "nftables"
    for backend in ("iptables-nft", "iptables-legacy"):
        if codes.get(backend):
            return backend
    return reported


# -- talking to the daemon ------------------------------------------------------------------


def host_report(client, probe: bool = True, learner: str | None = None) -> HostReport:
    """Everything the doctor knows about this host.

    Args:
        client: a docker SDK client (see :func:`dockernet.get_client`).
        probe (bool): run the probe containers (about a second); without them the
            macvlan/ipvlan/VXLAN, nested-host and (mostly) firewall answers are ``None``.
        learner (str): whose namespace the probe containers use (default: this learner).

    Returns:
        HostReport
    """
    report = HostReport.from_daemon(client.info(), client.version())
    report.daemon = _daemon_text(client)
    # The name filter matches parts of names too ("my-bridge"): keep exact matches only.
    report.default_bridge = any(n.name == "bridge" for n in client.networks.list(names=["bridge"]))
    report.lab_image = image.image_tag()
    report.compose = compose.version()  # this machine's docker CLI, as lesson 13 runs it
    found = image.find(client, report.lab_image)
    report.lab_image_present = found is not None
    if found is not None:
        report.lab_image_mb = round(found.attrs.get("Size", 0) / 1e6)
    if not probe:
        return report
    if found is None:
        report.notes.append("probes skipped: they run in the lab image, which is missing "
                            "(`python -m dockernet image`)")
        return report
    found = run_probes(client, report.firewall_backend, learner)
    notes = report.notes + found.pop("notes")
    return replace(report, notes=notes, **found)


def _daemon_text(client) -> str:
    try:
        address = find_daemon()
        return f"{address.base_url} (via {address.source})"
    except Exception:  # noqa: BLE001 - only a label: the client is already connected
        return str(client.api.base_url)


def run_probes(client, reported_firewall: str | None = None,
               learner: str | None = None) -> dict:
    """Run the three probe containers in the ``doctor`` namespace; remove them after.

    Returns:
        dict: ``macvlan``, ``ipvlan``, ``vxlan``, ``link_notes``, ``nested_hosts``, ``ipvs``,
        ``firewall_backend``, ``firewall_source`` and ``notes``.
    """
    lab = Lab(PROBE_LESSON, learner=learner, client=client, quiet=True)
    found: dict = {"notes": []}
    try:
        links = _probe(lab, "links", LINK_PROBE, found["notes"], network="none",
                       cap_add=["NET_ADMIN"])
        readings = link_readings(links) if links is not None else {}
        found.update({kind: works for kind, (works, _) in readings.items()})
        found["link_notes"] = {kind: why for kind, (_, why) in readings.items() if why}
        # One container in the host's namespace answers both the firewall and the IPVS question.
        host = _probe(lab, "firewall", f"{FIREWALL_PROBE}; {IPVS_PROBE}", found["notes"],
                      network="host", cap_add=["NET_ADMIN"])
        found["ipvs"] = parse_exit_codes(host).get("ipvs") if host is not None else None
        if reported_firewall == "nftables":
            found.update(firewall_backend="nftables", firewall_source="docker info")
        else:
            backend = firewall_from_probe(host or "", reported_firewall)
            source = "docker info + probe" if reported_firewall else "probe"
            found.update(firewall_backend=backend, firewall_source=source if backend else "")
        nested = _probe(lab, "nested", NESTED_PROBE, found["notes"], **NESTED_HOST_SETTINGS)
        found["nested_hosts"] = (parse_exit_codes(nested).get("mount", False)
                                 if nested is not None else False)
    finally:
        lab.cleanup()
    return found


def _probe(lab, name: str, script: str, notes: list, **settings) -> str | None:
    """Run ``script`` in a fresh tool container; ``None`` (and a note) if it cannot start."""
    try:
        lab.run(name, role="tool", **settings)
    except LabError as exc:  # the engine refused the settings: that is the answer
        notes.append(f"the {name} probe could not start: {str(exc).splitlines()[0][:200]}")
        return None
    return lab.exec(name, script, timeout=10).output
