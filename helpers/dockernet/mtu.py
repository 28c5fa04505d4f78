"""An MTU mismatch made on purpose: small pages load, big ones hang (lesson 12).

Every link has an MTU, the largest packet it carries. TCP avoids sending more than
either end's own link carries (each end announces an MSS, its MTU minus 40 bytes),
but it cannot see a narrower link *in between*: a VPN tunnel, an overlay, a cloud
network. There a router must drop a packet that is too big and send back ICMP
"fragmentation needed" (Path MTU discovery); when a firewall drops that ICMP, the
sender never learns, resends the same big packet, and the connection hangs. Small
answers fit and work, which is what makes it so confusing.

The lab's path, all lab containers::

    client ── inner (a lab network) ── router ── uplink (a lab network) ── web
    eth0 1500      router's inner leg: 1280          eth0 1500      eth0 1500

The router (``NET_ADMIN``, ``ip_forward`` in its own namespace) is a NAT gateway: it
forwards its port 8000 on ``inner`` to web (DNAT) and masquerades on ``uplink``, as a
VPN gateway or the Docker host itself would. Every packet is then addressed to a
container on the bridge it crosses, which Docker 28's "direct access" filter (a raw
PREROUTING DROP per container for packets from another bridge) requires; plain routing
between the two bridges would be dropped there. The router narrows its own leg on
``inner`` to :data:`NARROW_MTU`, playing the tunnel, and drops the ICMP it would send
(an ``iptables`` rule in its own namespace). The fix is to tell Docker the path's real MTU:
``docker network create -o com.docker.network.driver.mtu=1280 inner``. The client's
interface then has that MTU, it announces a smaller MSS, and web's segments fit.

Nothing here touches the host: the MTU and the rules live in the router's own namespace.

>>> import dockernet as dn
>>> from dockernet import mtu
>>> lab = dn.Lab("12-addresses-dns-mtu", quiet=True)
>>> _ = mtu.build(lab)
>>> mtu.fetch(lab, "small").ok, mtu.timed_out(mtu.fetch(lab, "large", timeout=3))
(True, True)
>>> _ = mtu.build(lab, inner_mtu=mtu.NARROW_MTU)
>>> mtu.fetch(lab, "large").ok
True
>>> _ = lab.cleanup()
"""

from __future__ import annotations

import time

import pandas as pd

from . import probe
from .errors import LabError

#: The narrow link's MTU (IPv6's minimum, common on VPN tunnels).
NARROW_MTU = 1280
#: Sizes of the two pages web serves, in bytes: one fits in any packet, one needs many.
SIZES = {"small": 200, "large": 64 * 1024}
PORT = 8000
#: The Docker option that sets a network's MTU (bridge, overlay, macvlan...).
MTU_OPTION = "com.docker.network.driver.mtu"
#: The router's rule: it drops the ICMP "fragmentation needed" it would send, as a
#: firewall that drops all ICMP does somewhere on the way.
ICMP_RULE = ["OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP"]
NAMES = {"client": "client", "router": "router", "web": "web", "inner": "inner",
         "uplink": "uplink"}
READY_TIMEOUT_S = 20
PATH_COLUMNS = ["hop", "container", "interface", "network", "MTU"]


def web_command() -> list[str]:
    """web's command: write the two pages, then serve them with python3's http.server.

    >>> "head -c 65536" in web_command()[2]
    True
    """
    pages = " && ".join(f"head -c {size} /dev/zero | tr '\\0' x > /srv/web/{page}"
                        for page, size in SIZES.items())
    return ["sh", "-c", f"mkdir -p /srv/web && {pages} && "
                        f"exec python3 -m http.server --directory /srv/web {PORT}"]


def link_for(links: list[dict], address: str) -> dict:
    """The link of ``ip -j addr show`` that carries ``address``: its name and MTU.

    >>> link_for([{"ifname": "lo", "mtu": 65536, "addr_info": [{"local": "127.0.0.1"}]},
    ...           {"ifname": "eth1", "mtu": 1500, "addr_info": [{"local": "10.9.0.3"}]}],
    ...          "10.9.0.3")
    {'interface': 'eth1', 'MTU': 1500}
    """
    for link in links:
        if any(info.get("local") == address for info in link.get("addr_info") or []):
            return {"interface": link["ifname"], "MTU": link.get("mtu")}
    raise LabError(f"no interface carries {address}: re-run mtu.build(lab).")


def _links(lab, container) -> list[dict]:
    return probe.read_json(lab.get_container(container), ["ip", "-j", "addr", "show"],
                           what=f"{container}'s interfaces")


def _wait_serving(lab) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if lab.curl(NAMES["web"], f"http://127.0.0.1:{PORT}/small", timeout=1).ok:
            return
        time.sleep(0.2)
    raise LabError(f"web did not serve within {READY_TIMEOUT_S} s: re-run mtu.build(lab).")


def build(lab, inner_mtu: int | None = None) -> pd.DataFrame:
    """Get or build the path, with ``inner`` made with ``inner_mtu`` (``None``: Docker's
    default, the host's 1500) and the router's inner leg narrowed to :data:`NARROW_MTU`.

    Re-running with another ``inner_mtu`` re-creates ``inner`` (and the client on it), as
    ``docker network rm`` and ``create`` would; everything else stays.

    Returns:
        pandas.DataFrame: the path's hops and their MTUs (:func:`path_frame`).

    Raises:
        LabError: ``inner_mtu`` is not a whole number of bytes from 576 to 9000.
    """
    if inner_mtu is not None and (not isinstance(inner_mtu, int) or not 576 <= inner_mtu <= 9000):
        raise LabError(f"inner_mtu={inner_mtu!r}: give a whole number of bytes from 576 to "
                       f"9000, e.g. {NARROW_MTU}, or None for Docker's default.")
    options = {MTU_OPTION: str(inner_mtu)} if inner_mtu else None
    lab.network(NAMES["uplink"])
    lab.network(NAMES["inner"], options=options)
    lab.run(NAMES["web"], web_command(), network=NAMES["uplink"])
    lab.run(NAMES["router"], network=NAMES["uplink"], cap_add=["NET_ADMIN"],
            sysctls={"net.ipv4.ip_forward": "1"})
    lab.connect(NAMES["router"], NAMES["inner"])
    lab.run(NAMES["client"], network=NAMES["inner"])
    _wire(lab)
    _wait_serving(lab)
    return path_frame(lab)


def _wire(lab) -> None:
    """The router's narrow leg, its port forward to web and the ICMP rule (all idempotent)."""
    links = _links(lab, NAMES["router"])
    leg = link_for(links, lab.ip(NAMES["router"], NAMES["inner"]))["interface"]
    out = link_for(links, lab.ip(NAMES["router"], NAMES["uplink"]))["interface"]
    web = lab.ip(NAMES["web"], NAMES["uplink"])
    rules = [ICMP_RULE,
             ["-t", "nat", "PREROUTING", "-i", leg, "-p", "tcp", "--dport", str(PORT),
              "-j", "DNAT", "--to-destination", f"{web}:{PORT}"],
             ["-t", "nat", "POSTROUTING", "-o", out, "-j", "MASQUERADE"]]
    script = [f"ip link set dev {leg} mtu {NARROW_MTU}",
              "iptables -t nat -F PREROUTING"]  # web's address may have changed: forward anew
    for rule in rules:
        table, chain = (rule[:2], rule[2:]) if rule[0] == "-t" else ([], rule)
        spec = " ".join([*table, "-C", *chain])
        script.append(f"{{ iptables {spec} 2>/dev/null || iptables {' '.join([*table, '-A', *chain])}; }}")
    lab.exec(NAMES["router"], " && ".join(script)).expect_success()


def path_frame(lab) -> pd.DataFrame:
    """Each hop's interface and MTU, from the client to web (read inside the containers)."""
    hops = [("1", NAMES["client"], NAMES["inner"]), ("2", NAMES["router"], NAMES["inner"]),
            ("3", NAMES["router"], NAMES["uplink"]), ("4", NAMES["web"], NAMES["uplink"])]
    rows = []
    for hop, container, network in hops:
        link = link_for(_links(lab, container), lab.ip(container, network))
        rows.append({"hop": hop, "container": container, "network": network, **link})
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def fetch(lab, page: str, timeout: float = 4) -> probe.ProbeResult:
    """The client downloads one of web's pages (``small`` or ``large``) through the router
    (from the router's port 8000 on ``inner``, which it forwards to web).

    curl's ``--max-time`` bounds it: a download that hangs ends as a timeout (curl exit
    28). The output is the number of bytes received.
    """
    if page not in SIZES:
        raise LabError(f"page {page!r}: web serves {', '.join(SIZES)}.")
    url = f"http://{lab.ip(NAMES['router'], NAMES['inner'])}:{PORT}/{page}"
    return probe.heard(lab.exec(NAMES["client"], [
        "curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} bytes", "--connect-timeout",
        "2", "--max-time", f"{timeout:g}", url], timeout=timeout + 2))


def timed_out(result: probe.ProbeResult) -> bool:
    """True when curl gave up at ``--max-time`` (exit 28), not refused or unreachable.

    >>> timed_out(probe.ProbeResult("client", exit_code=28)), timed_out(probe.ProbeResult("c"))
    (True, False)
    """
    return result.exit_code == 28
