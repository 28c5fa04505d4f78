"""The overlay's packets on the wire: tcpdump on a host's underlay, as a table.

An overlay network carries a container's packet from one Docker host to another
inside a UDP datagram to port 4789 (VXLAN, RFC 7348): the **outer** packet goes
between the hosts' own addresses, an 8-byte VXLAN header names the network (the
**VNI**, Docker's ``vxlanid_list``), and the **inner** packet is the containers'
own, untouched. ``tcpdump -n`` decodes all three:

    19:02:11.386452 IP 10.200.0.3.37153 > 10.200.0.2.4789: VXLAN, flags [I] (0x08), vni 4097
    IP 10.0.1.5.8000 > 10.0.1.3.41598: Flags [S.], seq 1, ack 2, win 64308, length 0

:func:`packets` reads that text (pure, unit-tested on captured text), :func:`table`
makes it the lesson's table. :func:`capture` runs the tcpdump (bounded by count and
by time) on a simulated host while some traffic runs; :func:`block` and
:func:`unblock` add and remove the lesson's iptables rule inside one host.

>>> text = ("19:02:11.386452 IP 10.200.0.3.37153 > 10.200.0.2.4789: VXLAN, flags [I] (0x08), "
...         "vni 4097\\nIP 10.0.1.5.8000 > 10.0.1.3.41598: Flags [S.], seq 1, ack 2, "
...         "win 64308, length 0")
>>> table(text).loc[0, ["outer src", "inner src", "TCP flags"]].tolist()
['10.200.0.3', '10.0.1.5:8000', 'S. (SYN-ACK)']
>>> packets(text)[0].vni
4097
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass

import pandas as pd

from . import probe
from .errors import LabError

VXLAN_PORT = 4789
_OUTER = re.compile(
    r"^(?P<time>\d\d:\d\d:\d\d\.\d+) IP6? (?P<src>\S+)\.(?P<sport>\d+) > (?P<dst>\S+)\.(?P<dport>\d+): "
    r"VXLAN, flags \[(?P<flags>[^\]]*)\] \((?P<bits>0x[0-9a-f]+)\), vni (?P<vni>\d+)")
_INNER_TCP = re.compile(
    r"^IP6? (?P<src>\S+)\.(?P<sport>\d+) > (?P<dst>\S+)\.(?P<dport>\d+): Flags \[(?P<flags>[^\]]*)\]"
    r"(?:.*?, length (?P<length>\d+))?")
_INNER_IP = re.compile(r"^IP6? (?P<src>\S+?) > (?P<dst>\S+?): (?P<what>.*)$")
#: tcpdump's TCP flag letters, and the names the lesson uses.
FLAG_NAMES = {"S": "SYN", "S.": "SYN-ACK", ".": "ACK", "P.": "PSH-ACK", "F.": "FIN-ACK",
              "FP.": "FIN-PSH-ACK", "R": "RST", "R.": "RST-ACK"}
COLUMNS = ["time", "outer src", "outer dst", "UDP port", "VNI", "inner src", "inner dst",
           "TCP flags", "inner length"]


@dataclass
class VxlanPacket:
    """One VXLAN datagram as tcpdump printed it: the outer header, the VNI, the inner packet."""

    time: str
    outer_src: str
    outer_dst: str
    udp_port: int
    vni: int
    inner_src: str = ""
    inner_dst: str = ""
    tcp_flags: str = ""
    inner_length: int | None = None
    inner_other: str = ""


def packets(text: str) -> list[VxlanPacket]:
    """Every VXLAN packet in tcpdump's text (``tcpdump -n``), in order.

    Lines that are not a packet (tcpdump's "listening on ...", its counts) are skipped;
    an inner packet that is not TCP keeps tcpdump's words in ``inner_other``.

    >>> packets("listening on eth0, link-type EN10MB\\n3 packets captured")
    []
    """
    found: list[VxlanPacket] = []
    current = None
    for line in text.splitlines():
        line = line.strip()
        outer = _OUTER.match(line)
        if outer:
            current = VxlanPacket(outer["time"], outer["src"], outer["dst"], int(outer["dport"]),
                                  int(outer["vni"]))
            found.append(current)
            continue
        if current is None or current.inner_src or current.inner_other:
            continue  # not the line right after an outer header
        inner = _INNER_TCP.match(line)
        if inner:
            current.inner_src = f"{inner['src']}:{inner['sport']}"
            current.inner_dst = f"{inner['dst']}:{inner['dport']}"
            current.tcp_flags = inner["flags"]
            current.inner_length = int(inner["length"]) if inner["length"] else None
            continue
        other = _INNER_IP.match(line)
        if other:
            current.inner_src, current.inner_dst = other["src"], other["dst"]
            current.inner_other = other["what"]
        elif line:
            current.inner_other = line  # ARP and others: tcpdump's own words
    return found


def flag_name(flags: str) -> str:
    """``"S."`` → ``"S. (SYN-ACK)"``; unknown or empty flags are returned as they are."""
    return f"{flags} ({FLAG_NAMES[flags]})" if flags in FLAG_NAMES else flags


def table(text: str) -> pd.DataFrame:
    """The lesson's table: outer addresses, UDP port, VNI, the inner TCP (one row a packet)."""
    rows = [[p.time, p.outer_src, p.outer_dst, p.udp_port, p.vni, p.inner_src, p.inner_dst,
             flag_name(p.tcp_flags) or p.inner_other, p.inner_length] for p in packets(text)]
    return pd.DataFrame(rows, columns=COLUMNS)


def as_dicts(text: str) -> list[dict]:
    """:func:`packets` as plain dictionaries (for JSON, or a test's expectations)."""
    return [asdict(p) for p in packets(text)]


# -- live: capturing on a simulated host, and the lesson's block -----------------------------------

#: The iptables rule, inside one simulated host, that drops the overlay's packets arriving there.
BLOCK_RULE = f"INPUT -p udp --dport {VXLAN_PORT} -j DROP"


def block(host) -> probe.ProbeResult:
    """``iptables -I INPUT -p udp --dport 4789 -j DROP`` inside ``host`` (once); its INPUT chain."""
    if not host.sh(f"iptables -C {BLOCK_RULE}").ok:
        host.sh(f"iptables -I {BLOCK_RULE}").expect_success()
    return host.sh("iptables -S INPUT")


def unblock(host) -> probe.ProbeResult:
    """Delete :data:`BLOCK_RULE` inside ``host`` (every copy of it); its INPUT chain."""
    for _ in range(5):  # bounded: the lab inserts it once; a learner may have added more
        if not host.sh(f"iptables -D {BLOCK_RULE}").ok:
            break
    return host.sh("iptables -S INPUT")


def underlay_interface(host) -> str:
    """The interface inside ``host`` that holds its underlay address (``eth0`` here)."""
    for line in host.sh("ip -o -4 addr show").stdout.splitlines():
        words = line.split()
        if len(words) > 3 and words[3].split("/")[0] == host.address:
            return words[1].split("@")[0]
    raise LabError(f"{host.name} has no interface with its underlay address {host.address}.")


def capture_argv(interface: str, image_tag: str, *, count: int, seconds: int,
                 name: str = "capture") -> list[str]:
    """The ``docker run`` arguments of the capture container (what the lesson prints).

    >>> " ".join(capture_argv("eth0", "lab", count=12, seconds=10)[9:])
    'NET_RAW lab timeout 10 tcpdump -nl -i eth0 -c 12 udp port 4789'
    """
    return ["run", "-d", "--name", name, "--network", "host", "--cap-add", "NET_ADMIN",
            "--cap-add", "NET_RAW", image_tag, "timeout", str(seconds), "tcpdump", "-nl",
            "-i", interface, "-c", str(count), "udp", "port", str(VXLAN_PORT)]


def capture(host, image_tag: str, traffic, *, count: int = 12, seconds: int = 10,
            name: str = "capture") -> str:
    """tcpdump the overlay's packets on ``host``'s underlay while ``traffic()`` runs.

    A lab-image container on the host's own network (``--network host``, NET_ADMIN and
    NET_RAW) runs ``timeout SECONDS tcpdump -nl -i IFACE -c COUNT udp port 4789``:
    it ends after ``count`` packets or ``seconds``, whichever comes first.

    Returns:
        str: tcpdump's text, for :func:`packets` and :func:`table`.
    """
    argv = capture_argv(underlay_interface(host), image_tag, count=count, seconds=seconds, name=name)
    host.docker(["rm", "-f", name])
    host.docker(argv).expect_success()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and "listening on" not in host.docker(["logs", name]).output:
        time.sleep(0.2)  # tcpdump says so on stderr once its filter is in place
    try:
        traffic()
    finally:
        host.docker(["wait", name], timeout=seconds + 5)
        text = host.docker(["logs", name]).stdout
        host.docker(["rm", "-f", name])
    return text


# -- the picture ------------------------------------------------------------------------------------

#: What :func:`diagram` draws where no simulated hosts run: example addresses, said so in the title.
EXAMPLE_LAYOUT = {
    "overlay": "across", "overlay subnet": "10.0.1.0/24", "vni": 4097, "example": True,
    "hosts": [{"name": "host-a", "address": "10.202.88.2", "containers": [("client", "10.0.1.4")]},
              {"name": "host-b", "address": "10.202.88.3", "containers": [("web", "10.0.1.2")]}],
}


def diagram(layout: dict):
    """Two hosts, the underlay between them and the overlay across them, as a Figure.

    Args:
        layout (dict): :func:`dockernet.hosts.layout`, or :data:`EXAMPLE_LAYOUT`.

    >>> diagram(EXAMPLE_LAYOUT)                                  # doctest: +ELLIPSIS
    <Figure size ... with 1 Axes>
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    from .plots import CONTAINER_COLOR, NETWORK_COLOR

    figure = Figure(figsize=(10, 4.6))
    ax = figure.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    ax.axis("off")
    hosts = layout["hosts"]
    width = 10 / len(hosts)
    for index, host in enumerate(hosts):
        left = index * width + 0.3
        ax.add_patch(FancyBboxPatch((left, 1.3), width - 0.6, 4.3, boxstyle="round,pad=0.05",
                                    facecolor="#F4F4F4", edgecolor="#555555"))
        ax.text(left + 0.15, 5.25, f"{host['name']}: a Docker host", fontsize=11, weight="bold")
        ax.text(left + 0.15, 1.5, f"eth0 {host['address']}", fontsize=9, family="monospace")
        for slot, (name, address) in enumerate(host["containers"][:3]):
            x = left + 0.3 + slot * 1.5
            ax.add_patch(FancyBboxPatch((x, 3.5), 1.3, 1.0, boxstyle="round,pad=0.05",
                                        facecolor=CONTAINER_COLOR, edgecolor="none"))
            ax.text(x + 0.65, 4.15, name, ha="center", color="white", fontsize=10, weight="bold")
            ax.text(x + 0.65, 3.75, address, ha="center", color="white", fontsize=8)
            ax.plot([x + 0.65] * 2, [3.5, 3.1], color=NETWORK_COLOR, linewidth=2)
        ax.plot([left + width / 2 - 0.3] * 2, [1.3, 0.75], color="#555555")
    ax.add_patch(FancyBboxPatch((0.3, 2.55), 9.4, 0.55, boxstyle="round,pad=0.02", alpha=0.35,
                                facecolor=NETWORK_COLOR, edgecolor=NETWORK_COLOR, linestyle="--"))
    ax.text(5, 2.75, f"overlay {layout['overlay']} {layout['overlay subnet']}, VNI {layout['vni']}"
            f" (one network, both hosts)", ha="center", fontsize=9, weight="bold")
    ax.plot([0.3, 9.7], [0.75, 0.75], color="#333333", linewidth=3)
    ax.text(5, 0.3, f"underlay: the hosts' own network; the overlay's packets cross it wrapped in "
                    f"UDP {VXLAN_PORT} (VXLAN)", ha="center", fontsize=9)
    title = "Two Docker hosts, one overlay"
    figure.suptitle(title + (" (example addresses: no simulated hosts here)"
                             if layout.get("example") else ""), fontsize=12)
    return figure
