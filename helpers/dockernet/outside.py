""""The outside world" without leaving the machine.

Lessons about outbound NAT need a server "out there" whose view of the client
can be asserted, and the course never sends a packet off the machine. So the
outside world is a lab container with ``--network none`` (no Docker network
at all) given one end of a veth pair; the other end stays on the host, like a
cable to the next router::

    helloworld (172.17.0.2) -- docker0 -- host -- dnx-... ====== eth0 [outside]
                                         198.51.100.1/30   198.51.100.2/30

Both ends get documentation-range addresses (RFC 5737: 198.51.100.0/24 and
203.0.113.0/24, never routed on the internet), a small /30 per learner and
lesson that overlaps no host route. The outside server answers every request
with the client address it sees, so a lesson can assert that Docker's
MASQUERADE rule rewrote 172.17.x to the host's address on the link.

The pair is made by a helper container (``outside-wire``: host network, host
PID namespace, ``NET_ADMIN`` and ``SYS_ADMIN``), and disappears with the outside
container's network namespace: ``lab.cleanup()`` removes it with the containers.
Before every probe the host's route to the outside server is checked
(``ip route get``): if it would not leave through the lab's own veth, nothing is
sent.

>>> import dockernet as dn
>>> from dockernet import outside
>>> lab = dn.Lab("01-default-bridge", quiet=True)
>>> world = outside.outside_world(lab)
>>> seen = world.curl(lab.run("client")).output       # the address the outside server saw
>>> seen == world.host_address, seen == lab.ip("client")
(True, False)
"""

from __future__ import annotations

import hashlib
import ipaddress
import shlex
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from . import capabilities, hostview, probe
from .errors import LabError
from .lab import READY_TIMEOUT_S
from .naming import check_short_name

#: RFC 5737 documentation ranges: never routed on the internet.
OUTSIDE_POOLS = ("198.51.100.0/24", "203.0.113.0/24")
LINK_PREFIX = 30
OUTSIDE_PORT = 80
WIRE = "outside-wire"
#: Host-side interface names: this prefix and 10 hex digits (14 characters; Linux allows 15).
HOST_IF_PREFIX = "dnx-"
TEMP_IF_PREFIX = "dnt-"
ALIAS_PREFIX = "dockernet-outside "
ROOTLESS_REASON = (
    "rootless Docker: the outside world is a link into the host's own network namespace, and "
    "this engine's containers live in RootlessKit's namespace instead, so it cannot be laid here. "
    "Read this section's cells and their prose; run them on a rootful engine "
    "(`python -m dockernet doctor --lessons` lists what runs on this host).")

#: A tiny HTTP server that answers with the client address it sees (and logs it).
SERVER = """
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.client_address[0] + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("", PORT), Handler).serve_forever()
"""


@dataclass
class OutsideWorld:
    """A server "out there", on a link of its own to the Docker host.

    Attributes:
        container: the outside server's container (``--network none`` plus the veth).
        address (str): the outside server's IP address.
        host_address (str): the host's address on the link: what MASQUERADE turns
            container addresses into.
        url (str): the server's URL; it answers with the client address it sees.
        host_if (str): the host-side veth's name.
        subnet (str): the link's /30.
    """

    container: object = field(repr=False)
    address: str
    host_address: str
    url: str
    host_if: str
    subnet: str
    lab: object = field(repr=False, default=None)

    def check_route(self) -> dict:
        """Raise unless the host would send packets for the server out of the lab's own veth.

        Returns:
            dict: the host's ``ip -j route get`` answer.

        Raises:
            LabError: the route leaves by another interface (nothing was sent).
        """
        routes = hostview.host_routes(self.lab, self.address)
        check_route(routes, self.address, self.host_if)
        return routes[0]

    def curl(self, source, path: str = "/", timeout: float = 3) -> probe.ProbeResult:
        """``curl`` the outside server from a lab container, after checking the route.

        The output is the client address the outside server saw.
        """
        self.check_route()
        return self.lab.curl(source, self.url.rstrip("/") + "/" + path.lstrip("/"),
                             timeout=timeout)


# -- pure: names, subnets, checks ---------------------------------------------------------


def link_key(learner: str, lesson: str, name: str) -> str:
    """A stable hex key for one outside world, unique per learner, lesson and name."""
    return hashlib.sha256(f"{learner}\0{lesson}\0{name}".encode()).hexdigest()


def interface_names(key: str) -> tuple[str, str]:
    """The host-side and the temporary container-side interface names (15 characters at most).

    >>> interface_names("0123456789abcdef")
    ('dnx-0123456789', 'dnt-0123456789')
    """
    return HOST_IF_PREFIX + key[:10], TEMP_IF_PREFIX + key[:10]


def link_subnets(key: str, pools: Iterable[str] = OUTSIDE_POOLS) -> Iterator[ipaddress.IPv4Network]:
    """Every /30 of the documentation ranges, starting at a place derived from ``key``.

    Starting each learner elsewhere means two learners rarely even try the same one.

    >>> subnets = list(link_subnets("00"))
    >>> len(subnets), str(subnets[0])
    (128, '198.51.100.0/30')
    """
    subnets = [s for pool in pools
               for s in ipaddress.ip_network(pool).subnets(new_prefix=LINK_PREFIX)]
    offset = int(key, 16) % len(subnets)
    yield from subnets[offset:]
    yield from subnets[:offset]


def taken_networks(links: Iterable[dict], routes: Iterable[dict],
                   own_interface: str | None = None) -> list[ipaddress.IPv4Network]:
    """Networks in use on the host: every IPv4 address's network and every route (not default).

    ``own_interface`` (this outside world's own veth, on a re-run) is left out.

    >>> links = [{"ifname": "eth0", "addr_info": [
    ...     {"family": "inet", "local": "192.0.2.2", "prefixlen": 24}]}]
    >>> routes = [{"dst": "default", "dev": "eth0"}, {"dst": "198.51.100.4/30", "dev": "x"}]
    >>> [str(n) for n in taken_networks(links, routes)]
    ['192.0.2.0/24', '198.51.100.4/30']
    """
    taken = []
    for link in links:
        if link.get("ifname") == own_interface:
            continue
        for info in link.get("addr_info") or []:
            if info.get("family") == "inet":
                taken.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}",
                                                  strict=False))
    for route in routes:
        if route.get("dev") == own_interface or route.get("dst") in (None, "default"):
            continue
        try:
            network = ipaddress.ip_network(route["dst"], strict=False)
        except ValueError:
            continue
        if network.version == 4:
            taken.append(network)
    return taken


def retry_key(key: str, attempt: int) -> str:
    """Where attempt number ``attempt`` (0, 1, ...) starts looking for a free /30.

    The learner's own place first; after a clash, another place of the learner's
    own. Two learners who clashed and both moved on to "the next free /30" would
    clash again, and again, in step.

    >>> retry_key("00", 0)
    '00'
    >>> len(retry_key("00", 1)) == 64 and retry_key("00", 1) != retry_key("01", 1)
    True
    """
    return key if attempt == 0 else hashlib.sha256(f"{key}:{attempt}".encode()).hexdigest()


def free_subnet(key: str, taken: Iterable[ipaddress.IPv4Network],
                skip: Iterable[ipaddress.IPv4Network] = ()) -> ipaddress.IPv4Network:
    """The first /30 (from ``key``'s starting place) that overlaps nothing taken.

    >>> taken = [ipaddress.ip_network("198.51.100.0/30")]
    >>> str(free_subnet("00", taken))
    '198.51.100.4/30'
    """
    busy = [*taken, *skip]
    for subnet in link_subnets(key):
        if not any(subnet.overlaps(net) for net in busy):
            return subnet
    raise LabError("every /30 of 198.51.100.0/24 and 203.0.113.0/24 is in use on this host: "
                   "remove other learners' outside worlds (`python -m dockernet clean "
                   "--all-learners`) or free a range.")


def check_route(routes: list[dict], address: str, host_if: str) -> None:
    """Raise unless ``ip -j route get ADDRESS`` says the packet leaves through ``host_if``.

    >>> check_route([{"dst": "198.51.100.2", "dev": "dnx-0123456789"}], "198.51.100.2",
    ...             "dnx-0123456789")
    >>> check_route([{"dst": "198.51.100.2", "gateway": "192.0.2.1", "dev": "eth0"}],
    ...             "198.51.100.2", "dnx-0123456789")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: the host would send packets for 198.51.100.2 out of eth0 (via ...
    """
    route = routes[0] if routes else {}
    if route.get("dev") == host_if and not route.get("gateway"):
        return
    via = f" (via {route['gateway']})" if route.get("gateway") else ""
    raise LabError(f"the host would send packets for {address} out of {route.get('dev', '?')}"
                   f"{via}, not the lab's link {host_if}, so nothing was sent. The outside "
                   "world is half built: run outside.outside_world(lab) again, or "
                   "lab.cleanup() and start over.")


def wire_script(pid: int, host_if: str, temp_if: str, subnet: ipaddress.IPv4Network,
                alias: str) -> str:
    """The shell script the helper runs on the host to lay the cable.

    It creates the veth pair, moves one end into the outside container's network
    namespace (as ``eth0``, with the server's address and a default route back)
    and addresses the host end. Any failure deletes the host end again, which
    deletes the pair: no half-built link is left behind.
    """
    host_address, address = (str(a) for a in subnet.hosts())
    prefix = subnet.prefixlen
    inside = (f"ip link set {temp_if} name eth0 && ip addr add {address}/{prefix} dev eth0 "
              f"&& ip link set eth0 up && ip route add default via {host_address}")
    steps = [f"ip link set {host_if} alias {shlex.quote(alias)}",
             f"ip link set {temp_if} netns {pid}",
             f"ip addr add {host_address}/{prefix} dev {host_if}",
             f"ip link set {host_if} up",
             f"nsenter -t {pid} -n sh -c {shlex.quote(inside)}"]
    return (f"ip link add {host_if} type veth peer name {temp_if} || exit 1\n"
            f"if ! {{ {' && '.join(steps)}; }}; then\n"
            f"  ip link del {host_if} 2>/dev/null; exit 1\nfi")


# -- live ----------------------------------------------------------------------------------


def _wire(lab):
    return lab.run(WIRE, network="host", pid_mode="host", cap_add=["NET_ADMIN", "SYS_ADMIN"],
                   role="tool")


def _inside_address(container) -> str | None:
    """The outside container's eth0 IPv4 address, if its cable is laid."""
    result = probe.run(container, ["ip", "-j", "-4", "addr", "show", "dev", "eth0"], timeout=5)
    if not result.ok:
        return None
    for link in probe.parse_json(result) or []:
        for info in link.get("addr_info") or []:
            return info.get("local")
    return None


def _find_link(links: list[dict], host_if: str) -> dict | None:
    return next((link for link in links if link.get("ifname") == host_if), None)


def _remove_own_link(lab, host_if: str, alias: str) -> None:
    # A leftover host end of ours (its alias says so) from a broken run: delete it. An
    # interface with that name but another alias is not ours and is never touched.
    script = (f"[ -e /sys/class/net/{host_if} ] || exit 0\n"  # gone with its namespace: done
              f"[ \"$(cat /sys/class/net/{host_if}/ifalias)\" = {shlex.quote(alias)} ] || exit 3\n"
              f"ip link del {host_if} 2>/dev/null || [ ! -e /sys/class/net/{host_if} ]")
    result = probe.run(_wire(lab), ["sh", "-c", script], timeout=5)
    if result.exit_code == 3:
        raise LabError(f"a host interface named {host_if} exists and is not this lab's "
                       f"outside link; the lab does not touch it. Remove it yourself, or "
                       "use another name: outside_world(lab, name='outside2').")
    if not result.ok:
        raise LabError(f"could not remove the broken outside link {host_if}: "
                       f"{result.output[:300]}. Run lab.cleanup() and try again.")


def _wait_until_serving(world: OutsideWorld, deadline_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if probe.curl(world.container, f"http://127.0.0.1:{OUTSIDE_PORT}/", timeout=1).ok:
            return
        time.sleep(0.1)
    logs = world.container.logs(tail=5).decode(errors="replace")
    raise LabError(f"the outside server did not answer within {deadline_s:g} s. "
                   f"Its last log lines:\n{logs}")


def outside_world(lab, name: str = "outside") -> OutsideWorld:
    """Get or create the lab's outside world: a server on a link of its own to the host.

    Re-running returns the same world when it is intact, and repairs it when not.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        name (str): the outside container's name.

    Returns:
        OutsideWorld: the server's container, addresses and URL.

    Raises:
        LabError: rootless Docker (no link into the host's namespace), no free /30 on
            this host, an interface of the same name the lab does not own, or a route that
            would not stay on the link.

    >>> world = outside_world(lab)
    >>> world.address.startswith(("198.51.100.", "203.0.113.")), world.host_address != world.address
    (True, True)
    """
    check_short_name(name, what="container name")
    if capabilities.is_rootless(lab.client.info()):
        # Checked first, so nothing is started: the link's host end would land in RootlessKit's
        # namespace, not the host's, and the wire container could not create it there anyway.
        raise LabError(ROOTLESS_REASON)
    key = link_key(lab.learner, lab.lesson, name)
    host_if, temp_if = interface_names(key)
    alias = f"{ALIAS_PREFIX}{lab.learner} {lab.lesson} {name}"
    container = lab.run(name, ["python3", "-c", SERVER.replace("PORT", str(OUTSIDE_PORT))],
                        network="none")
    links = hostview.host_links(lab, details=False)
    own = _find_link(links, host_if)
    inside = _inside_address(container)
    if own is not None and inside is not None:  # laid before: reuse if both ends agree
        world = _world(lab, container, own, inside, host_if)
        if world is not None:
            _wait_until_serving(world)
            return world
    if own is not None:
        _remove_own_link(lab, host_if, alias)
    wire = _wire(lab)
    tried = []
    for attempt in range(8):  # bounded: another learner may take a /30 at the same moment
        taken = taken_networks(hostview.host_links(lab, details=False),
                               hostview.host_routes(lab))
        subnet = free_subnet(retry_key(key, attempt), taken, skip=tried)
        container.reload()
        script = wire_script(container.attrs["State"]["Pid"], host_if, temp_if, subnet, alias)
        result = probe.run(wire, ["sh", "-c", script], timeout=10)
        if not result.ok:
            raise LabError(f"laying the outside link failed: {result.output[:300]}. "
                           "Run lab.cleanup() and try again.")
        if _sole_owner(hostview.host_routes(lab), subnet, host_if):
            break
        # Someone took the same /30 at the same moment: unplug (both ends go) and move on.
        _remove_own_link(lab, host_if, alias)
        tried.append(subnet)
    else:
        raise LabError("could not find a /30 no one else uses after 8 tries; run "
                       "lab.cleanup() and try again.")
    host_address, address = (str(a) for a in subnet.hosts())
    world = OutsideWorld(container, address, host_address, f"http://{address}:{OUTSIDE_PORT}/",
                         host_if, str(subnet), lab)
    world.check_route()
    _wait_until_serving(world)
    return world


def _world(lab, container, own_link: dict, inside: str, host_if: str) -> OutsideWorld | None:
    """The world described by an existing link, when both ends sit on one /30."""
    for info in own_link.get("addr_info") or []:
        if info.get("family") != "inet":
            continue
        subnet = ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False)
        if ipaddress.ip_address(inside) in subnet:
            world = OutsideWorld(container, inside, info["local"],
                                 f"http://{inside}:{OUTSIDE_PORT}/", host_if, str(subnet), lab)
            try:
                world.check_route()
            except LabError:
                return None
            return world
    return None


def _sole_owner(routes: list[dict], subnet: ipaddress.IPv4Network, host_if: str) -> bool:
    """True when only ``host_if`` routes ``subnet`` (no other learner picked it too)."""
    devices = {route.get("dev") for route in routes if _overlaps(route.get("dst"), subnet)}
    return devices == {host_if}


def _overlaps(destination, subnet: ipaddress.IPv4Network) -> bool:
    try:  # "default", a missing dst, or an IPv6 route: not ours to worry about
        return ipaddress.ip_network(destination, strict=False).overlaps(subnet)
    except (TypeError, ValueError):
        return False
