"""Which lessons run fully on a host: the syllabus, and the gaps a host report reveals.

Pure functions of a :class:`~dockernet.capabilities.HostReport`, unit-tested without
a daemon; ``python -m dockernet doctor`` and lesson 00 show the same table.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .capabilities import HostReport

#: The syllabus of DESIGN.md and lessons/README.md: number and title of every lesson.
LESSONS = (
    ("00", "Check your setup"),
    ("01", "The default bridge"),
    ("02", "User-defined bridges"),
    ("03", "Publishing ports"),
    ("04", "The old ways: --link and /etc/hosts"),
    ("05", "The host network, and reaching the host"),
    ("06", "none and container: networking"),
    ("07", "Talking without a network"),
    ("08", "macvlan and ipvlan"),
    ("09", "Overlay on one host"),
    ("10", "Across hosts"),
    ("11", "Isolation and filtering"),
    ("12", "Addresses, DNS and MTU in the real world"),
    ("13", "Compose networking"),
    ("14", "Performance per driver"),
    ("15", "Troubleshooting capstone"),
)

#: A lesson's status on a host: every section runs; some sections explain instead of running
#: (the lesson still runs top to bottom); the lesson cannot run (the lab image is missing).
FULL, PARTIAL, NO = "runs fully", "degrades", "cannot"


@dataclass
class LessonSupport:
    """Whether one lesson runs fully here: ``runs fully``, ``degrades`` (some sections are
    explained instead of run) or ``cannot``; ``note`` says what is missing and why."""

    lesson: str
    title: str
    status: str
    note: str = ""


def lessons_table(report: HostReport) -> list[LessonSupport]:
    """Which lessons run fully on the host described by ``report`` (pure).

    The rules are deliberately simple; each ``note`` names the missing piece:

    - every lesson but 00 needs a Linux-containers engine and the lab image;
    - 01 needs Docker's default bridge, and its outbound-NAT part root-ful Docker;
    - 03 shows the NAT rules: it needs the firewall backend found, a root-ful
      engine, and the host to be the machine (on Docker Desktop the rules live in
      its VM and published ports travel through Desktop's proxy);
    - 05 needs the host network to be the machine's (not Desktop's VM, not rootless);
    - 08 needs macvlan (it cannot run without); ipvlan is optional (explained when missing);
    - 09 needs a swarm-capable engine with VXLAN (:attr:`HostReport.swarm_usable`), and
      IPVS for its virtual IP (loaded by Docker when the kernel has it);
    - 10 needs simulated Docker hosts (the nested probe), VXLAN, and a Linux
      engine that is not Docker Desktop or rootless;
    - 11 shows a DOCKER-USER rule: the nftables backend has no such chain (explained);
    - 12 routes a "VPN" range through the outside link: not on rootless Docker;
      it lays the outside link (not rootless) and reads Docker's rules;
    - 13 runs ``docker compose``: Compose v2 on this machine's CLI (explained when missing);
    - 14 measures the paths that work here: degrades when macvlan, swarm or simulated hosts
      are missing;
    - 15 lays the outside link for two of its set-ups: not on rootless Docker.

    >>> from dockernet.capabilities import HostReport
    >>> rows = lessons_table(HostReport(lab_image_present=True, macvlan=True, ipvlan=False))
    >>> [(r.lesson, r.status) for r in rows if r.lesson == "08"]
    [('08', 'degrades')]
    """
    gaps, blockers = _lesson_gaps(report), _lesson_blockers(report)
    rows = []
    for number, title in LESSONS:
        if number != "00" and report.os_type == "windows":
            rows.append(LessonSupport(number, title, NO, "a Windows-containers engine: the "
                                      "lessons need Linux containers (switch Docker Desktop to "
                                      "Linux containers)"))
            continue
        if number != "00" and not report.lab_image_present:
            rows.append(LessonSupport(number, title, NO,
                                      "needs the lab image: run `python -m dockernet image`"))
            continue
        if number in blockers:
            rows.append(LessonSupport(number, title, NO, blockers[number]))
            continue
        missing = gaps.get(number, [])
        rows.append(LessonSupport(number, title, PARTIAL if missing else FULL, "; ".join(missing)))
    return rows


def _lesson_blockers(r: HostReport) -> dict[str, str]:
    """Lessons that stop part-way on this host, with why: they have no explained path."""
    blockers = {}
    if r.macvlan is False:  # every cell after the first network needs it (rootless Docker, ...)
        why = r.link_notes.get("macvlan")
        blockers["08"] = ("macvlan does not work here" + (f" ({why})" if why else "")
                          + ": the lesson's first network cannot be made and its cells stop "
                          "there; read it, and run it on a root-ful Linux engine")
    return blockers


def _lesson_gaps(r: HostReport) -> dict[str, list[str]]:
    vm = "Docker Desktop's VM" if r.docker_desktop else None
    gaps: dict[str, list[str]] = {}

    def gap(lesson: str, condition: bool, why: str) -> None:
        if condition:
            gaps.setdefault(lesson, []).append(why)

    gap("01", not r.default_bridge, "this daemon has no default bridge (bridge: none)")
    gap("01", r.rootless, "the outbound-NAT part needs root-ful Docker")
    gap("02", r.firewall_backend is None, "Docker's rules were not found: skip the optional "
        "rules part of section 9")
    gap("03", r.firewall_backend is None, "Docker's NAT rules were not found: the rule view is "
        "explained, not shown")
    gap("03", r.rootless, "rootless Docker: ports reach the engine through RootlessKit, and the "
        "outside link of sections 6, 7, 10 and 11 cannot be laid")
    gap("03", bool(vm), f"the rules live in {vm}; published ports reach your machine through "
        "Desktop's proxy")
    gap("03", r.firewall_backend == "nftables", "the nftables backend has no DOCKER-USER chain: "
        "the firewall part is explained with nftables' own way")
    gap("05", bool(vm), f"the host network is {vm}'s, not your machine's")
    gap("05", r.rootless, "the host network is rootlesskit's namespace, not your machine's")
    gap("08", r.macvlan is None, _link_gap(r, "macvlan", "where it does not work, the lesson "
                                           "stops at its first network"))
    gap("08", r.ipvlan is not True, _link_gap(r, "ipvlan"))
    gap("09", not r.swarm_usable, "no swarm overlays on this engine (rootless, nftables "
        "backend, or a swarm it does not manage): explained, not run")
    gap("09", r.vxlan is False, "no VXLAN in this kernel: overlays cannot carry traffic")
    gap("09", r.swarm_usable and r.ipvs is False, "IPVS is not loaded: Docker loads it for a "
        "service's virtual IP if the kernel has it; where it has none, the VIP cell says so and "
        "DNS round-robin still runs")
    gap("11", r.firewall_backend == "nftables", "the nftables backend has no DOCKER-USER chain: "
        "that section is explained, not run")
    gap("11", r.rootless, "rootless Docker: the outside link of sections 1-3, 5 and 6 cannot be "
        "laid")
    gap("11", r.firewall_backend is None, "Docker's rules were not found: the rule tables of "
        "sections 1 and 3 and the DOCKER-USER rule cannot be shown")
    gap("12", r.rootless, "rootless Docker: the outside link that plays the VPN of sections 1-3 "
        "cannot be laid")
    gap("15", r.rootless, "rootless Docker: the outside link of sections 4 and 7 (the partner "
        "server and the LAN) cannot be laid")
    gap("13", r.compose == "", "Compose v2 is missing (`docker compose version` does not "
        "answer): explained, not run. Docker Desktop and docker-ce include it; with Debian 12's "
        "docker.io, `sudo .ci/install-compose` installs Debian sid's docker-compose")
    gap("10", r.nested_hosts is not True, "simulated Docker hosts cannot start here")
    gap("10", r.vxlan is False, "no VXLAN in this kernel")
    gap("10", bool(vm) or r.rootless or r.os_type not in ("linux", ""),
        "simulated hosts were checked on a root-ful Linux engine only")
    missing_paths = [name for name, works in (("macvlan", r.macvlan), ("overlay", r.swarm_usable),
                                              ("overlay across simulated hosts", r.nested_hosts))
                     if works is not True]
    gap("14", bool(missing_paths), "measures only the paths that work here (not "
        + ", ".join(missing_paths) + ": each is a row saying why)")
    return gaps


def _link_gap(r: HostReport, kind: str, then: str = "explained, not run") -> str:
    """Lesson 08's note for a link kind that is not ``True``, with the probe's reason."""
    why = r.link_notes.get(kind)
    state = "was not checked" if getattr(r, kind) is None else "does not work here"
    return f"{kind} {state}" + (f" ({why})" if why else "") + f": {then}"


def lessons_frame(report: HostReport) -> pd.DataFrame:
    """:func:`lessons_table` as a DataFrame indexed by lesson number."""
    rows = [asdict(row) for row in lessons_table(report)]
    return pd.DataFrame(rows, columns=["lesson", "title", "status", "note"]).set_index("lesson")


def lessons_summary(report: HostReport) -> str:
    """One line counting the statuses, e.g. ``13 lessons run fully, 3 degrade, 0 cannot``.

    >>> from dockernet.capabilities import HostReport
    >>> lessons_summary(HostReport(lab_image_present=False))
    '1 lesson runs fully, 0 degrade, 15 cannot'
    """
    statuses = [row.status for row in lessons_table(report)]
    full, partial, no = (statuses.count(status) for status in (FULL, PARTIAL, NO))
    return (f"{full} lesson{'' if full == 1 else 's'} run{'s' if full == 1 else ''} fully, "
            f"{partial} degrade{'s' if partial == 1 else ''}, {no} cannot")


def lessons_text(report: HostReport, width: int = 100) -> str:
    """The table for a terminal: one line per lesson, its status, then the reason, wrapped.

    >>> from dockernet.capabilities import HostReport
    >>> print(lessons_text(HostReport(lab_image_present=False), width=80).splitlines()[1])
    01  The default bridge                          cannot      needs the lab image: run
    >>> print(lessons_text(HostReport(lab_image_present=False), width=80).splitlines()[2])
                                                                `python -m dockernet image`
    """
    lines = []
    for row in lessons_table(report):
        head = f"{row.lesson}  {row.title:<42.42}  {row.status:<10}  "
        wrapped = textwrap.wrap(row.note, width=max(width - len(head), 30)) or [""]
        lines.append((head + wrapped[0]).rstrip())
        lines += [" " * len(head) + more for more in wrapped[1:]]
    return "\n".join(lines)


