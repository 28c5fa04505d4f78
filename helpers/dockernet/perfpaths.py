"""Building lesson 14's paths: a perf server and a client over each driver.

Each builder returns a :class:`~dockernet.perf.Path`, or, where this engine cannot build
it, a Path whose ``why_not`` says why (nothing half-made is left): the lesson shows such a
path as a row, not an error. The servers run :func:`dockernet.perf.server_command`.

- :func:`host_path`: server and client on the host network, through loopback; the
  server's ports are the learner's own (:func:`dockernet.ports.host_port`).
- :func:`bridge_paths`: ``srv`` and ``cli`` on the lab bridge ``perf-net`` (direct), and
  ``srv``'s ports published twice: on ``127.0.0.1`` (which the host's own connections
  reach through ``docker-proxy`` when the userland proxy is on) and on ``perf-net``'s
  gateway address (which the host's own connections reach through the DNAT rule, lesson
  03). The client of both is ``cli-host``, on the host network. Whether the proxy is on is
  read from the host's process list (:func:`dockernet.published.proxies`), never from or
  into the daemon's configuration.
- :func:`macvlan_path`: on lesson 08's per-learner veth parent (:mod:`dockernet.hostlinks`).
- :func:`overlay_path`: an attachable overlay on the lab's single-node swarm (lesson 09).
- :func:`start_across` / :func:`across_path`: an overlay between two simulated hosts
  (lesson 10), prepared in a background thread so that their start overlaps the other
  builds; where they cannot start, the reason.

>>> from dockernet import perf
>>> perf.paths_frame([unavailable("macvlan", "on a parent", "no macvlan here")])["measured here"][0]
'no: no macvlan here'
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from . import hostlinks, hosts, perf, ports, published, swarm
from .errors import LabError

NET, LAN, OVER, ACROSS = "perf-net", "perf-lan", "perf-over", "perf-across"
SERVER_ENV = {"ECHO_SERVER": perf.ECHO_SERVER}
#: Seconds a fresh server may take to answer its first round trip (a classroom is slow).
READY_S = 30
#: Seconds the lesson waits for the simulated hosts prepared in the background.
ACROSS_WAIT_S = 150


def unavailable(name: str, how: str, why: str) -> perf.Path:
    """A path this engine cannot build, with the reason."""
    return perf.Path(name, how, why_not=why)


def wait_ready(path: perf.Path, timeout: float = READY_S) -> perf.Path:
    """Wait until the path's echo server answers one round trip (iperf3 started first).

    Raises:
        LabError: no answer within ``timeout`` seconds (the last error is quoted).
    """
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            perf.round_trips_once(path, count=1)
            return path
        except LabError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise LabError(f"the perf server of path {path.name!r} did not answer within {timeout:g} s: {last}")


def _server(lab, name: str, network: str, **extra):
    return lab.run(name, perf.server_command(), network=network, environment=SERVER_ENV, **extra)


def host_ports(lab) -> list[int]:
    """Six host ports of this learner's own: host network (iperf3, echo), then the published
    ones (iperf3 and echo on 127.0.0.1, iperf3 and echo on the gateway)."""
    chosen = [ports.host_port(lab)]
    while len(chosen) < 6:
        chosen.append(ports.host_port(lab, after=chosen[-1]))
    return chosen


def host_path(lab, iperf_port: int, echo_port: int) -> perf.Path:
    """``srv-host`` and ``cli-host``, both on the host network: loopback, no veth, no NAT."""
    lab.run("srv-host", perf.server_command(iperf_port, echo_port), network="host",
            environment=SERVER_ENV)
    client = lab.run("cli-host", network="host")
    path = perf.Path("host", "loopback: one network namespace", perf.container_runner(client),
                     "127.0.0.1", "127.0.0.1", echo_port, iperf_port)
    return wait_ready(path)


def bridge_paths(lab, published_ports) -> list[perf.Path]:
    """Bridge direct, and ``srv``'s published ports through DNAT and through docker-proxy.

    Args:
        published_ports: four host ports: iperf3 and echo on ``127.0.0.1``, then on the
            gateway address.
    """
    iperf_lo, echo_lo, iperf_gw, echo_gw = published_ports
    network = lab.network(NET)
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    _server(lab, "srv", NET, ports={f"{perf.IPERF_PORT}/tcp": [("127.0.0.1", iperf_lo), (gateway, iperf_gw)],
                                    f"{perf.ECHO_PORT}/tcp": [("127.0.0.1", echo_lo), (gateway, echo_gw)]})
    client, host_client = lab.run("cli", network=NET), lab.get_container("cli-host")
    address = lab.ip("srv", NET)
    direct = wait_ready(perf.Path("bridge", "veth, bridge, veth", perf.container_runner(client),
                                  address, address))
    dnat = wait_ready(perf.Path("published, DNAT", f"host → {gateway}:port: nat rule, bridge, veth",
                                perf.container_runner(host_client), None, gateway, echo_gw, iperf_gw))
    if not proxy_serves(lab, echo_lo):
        return [direct, dnat, unavailable(
            "published, docker-proxy", "host → 127.0.0.1:port: docker-proxy, bridge, veth",
            "this engine runs with the userland proxy off (no docker-proxy serves the port): "
            "127.0.0.1 takes the DNAT rule too")]
    proxy = wait_ready(perf.Path("published, docker-proxy",
                                 "host → 127.0.0.1:port: docker-proxy, bridge, veth",
                                 perf.container_runner(host_client), None, "127.0.0.1", echo_lo, iperf_lo))
    return [direct, dnat, proxy]


def proxy_serves(lab, host_port: int) -> bool:
    """Whether a ``docker-proxy`` process serves ``127.0.0.1:host_port`` (the host's process list)."""
    table = published.proxies(lab)
    return bool(((table["host_ip"] == "127.0.0.1") & (table["host_port"] == host_port)).any())


def macvlan_path(lab) -> perf.Path:
    """``mv-srv`` and ``mv-cli`` on a macvlan network over the learner's lab parent."""
    how = "macvlan links on one parent, no bridge"
    try:
        parent = hostlinks.parent(lab)
        lab.network(LAN, driver="macvlan", options={"parent": parent}, gateway=None,
                    aux_addresses=hostlinks.RESERVED)
        _server(lab, "mv-srv", LAN)
        client = lab.run("mv-cli", network=LAN)
    except LabError as exc:
        return unavailable("macvlan", how, f"no macvlan network here: {exc}")
    address = lab.ip("mv-srv", LAN)
    return wait_ready(perf.Path("macvlan", how, perf.container_runner(client), address, address))


def overlay_path(lab) -> perf.Path:
    """``ov-srv`` and ``ov-cli`` on an attachable overlay of the lab's single-node swarm."""
    how = "overlay on one host: veth, the overlay's bridge, veth (no VXLAN)"
    here = swarm.prepare(lab)
    if not here.usable:
        return unavailable("overlay, one host", how, here.reason)
    lab.network(OVER, driver="overlay", attachable=True)
    _server(lab, "ov-srv", OVER)
    client = lab.run("ov-cli", network=OVER)
    address = lab.ip("ov-srv", OVER)
    return wait_ready(perf.Path("overlay, one host", how, perf.container_runner(client),
                                address, address))


# -- across simulated hosts ------------------------------------------------------------------------

ACROSS_NAME = "overlay, two hosts"
ACROSS_HOW = "overlay across simulated hosts: VXLAN over the underlay"


def start_across(lab) -> Future:
    """Prepare the cross-host path in a background thread: two simulated hosts, a swarm, an
    overlay, a server on host-b and a client on host-a. :func:`across_path` collects it."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="perf-across")
    future = executor.submit(_build_across, lab)
    executor.shutdown(wait=False)
    return future


def _build_across(lab) -> perf.Path:
    why_not = hosts.readiness(lab)
    if why_not is not None:
        return unavailable(ACROSS_NAME, ACROSS_HOW, why_not)
    host_a, host_b = hosts.start(lab, progress=lambda line: None)
    hosts.form_swarm(host_a, [host_b])
    hosts.overlay(host_a, ACROSS)
    hosts.run_on(host_b, "perf-srv", ACROSS, lab.image, perf.server_command(), SERVER_ENV)
    hosts.run_on(host_a, "perf-cli", ACROSS, lab.image)

    def run(argv, timeout):
        return host_a.docker(["exec", "perf-cli", "timeout", f"{timeout:g}", *argv], timeout=timeout + 5)

    # The name resolves once the hosts have gossiped about it: wait for the server by name.
    path = perf.Path(ACROSS_NAME, ACROSS_HOW, run, "perf-srv", "perf-srv")
    return wait_ready(path, timeout=READY_S + 20)


def across_path(lab, future: Future | None, timeout: float = ACROSS_WAIT_S) -> perf.Path:
    """The cross-host path prepared by :func:`start_across`, or the reason it is not here."""
    if future is None:
        return unavailable(ACROSS_NAME, ACROSS_HOW, "not prepared (perfpaths.start_across)")
    try:
        return future.result(timeout=timeout)
    except LabError as exc:
        return unavailable(ACROSS_NAME, ACROSS_HOW, f"the simulated hosts did not come up: {exc}")
    except TimeoutError:
        return unavailable(ACROSS_NAME, ACROSS_HOW, f"the simulated hosts took longer than "
                                                    f"{timeout:g} s (a busy machine)")


def build_all(lab, across: Future | None) -> list[perf.Path]:
    """Every path of lesson 14, in the order the lesson shows them."""
    chosen = host_ports(lab)
    return [host_path(lab, chosen[0], chosen[1]), *bridge_paths(lab, chosen[2:]),
            macvlan_path(lab), overlay_path(lab), across_path(lab, across)]
