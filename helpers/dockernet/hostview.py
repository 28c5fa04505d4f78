"""The Docker host's own view: its bridges and veth pairs (its firewall: :mod:`dockernet.firewall`).

A notebook kernel often cannot see the host's network (it may run in a
container, or as a user without ``CAP_NET_ADMIN``). So the lab runs one helper
container, ``host-view``, in the host's network namespace with ``NET_ADMIN``,
and reads ``ip -j`` there (:mod:`dockernet.firewall` reads the rules there). It is a lab object like any
other (labelled, removed by ``lab.cleanup()``), with the ``tool`` role that
keeps it out of the lesson's tables and plots. It reads, and changes no interface
or rule of the host, with one exception made on purpose: lesson 03 inserts two DROP
rules through it that match only the learner's own outside address, and every
cleanup deletes them (:mod:`dockernet.firewall.labrules`). A listing with
``iptables-legacy`` may make the kernel load its legacy table module, which holds no
rules.

Two layers, as in :mod:`dockernet.tables`: pure parsers that turn ``ip -j`` JSON
into rows (unit tested on captured output), and the lab functions that fetch live
output and build DataFrames.

>>> import dockernet as dn
>>> from dockernet import hostview
>>> lab = dn.Lab("01-default-bridge", quiet=True)
>>> boxes = [lab.run(name) for name in ("helloworld", "helloworld2")]
>>> pairs = hostview.veth_pairs(lab)
>>> pairs[["container", "bridge", "network"]].sort_values("container")
     container   bridge network
0   helloworld  docker0  bridge
1  helloworld2  docker0  bridge
>>> all(pairs.host_if.str.startswith("veth"))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from . import probe
from .errors import LabError

#: The helper container's short name (its Docker name is namespaced like every lab object).
HOST_VIEW = "host-view"
#: Interfaces a lesson about bridges cares about: Docker's bridges, veth ends, the lab's
#: "outside world" links (see :mod:`dockernet.outside`).
INTERFACE_PREFIXES = ("docker0", "br-", "veth", "dnx-")
INTERFACE_COLUMNS = ["index", "name", "kind", "master", "mac", "state", "addresses"]
VETH_COLUMNS = ["container", "container_if", "peer_index", "host_if", "bridge", "network"]


# -- pure: ip -j -> rows ---------------------------------------------------------------


def _kind(link: dict) -> str:
    # ``ip -d`` puts the driver in linkinfo; a link without one is a plain device (eth0).
    kind = (link.get("linkinfo") or {}).get("info_kind")
    if kind:
        return kind
    return "loopback" if link.get("link_type") == "loopback" else "device"


def interface_rows(links: Iterable[dict], prefixes: Iterable[str] | None = INTERFACE_PREFIXES,
                   bridge: str | None = None) -> list[dict]:
    """Rows for the host's interfaces, from ``ip -j -d addr show``.

    Args:
        links: the parsed JSON list.
        prefixes: keep interfaces whose name starts with one of these (``None``: all).
        bridge: keep only this bridge and the interfaces attached to it.

    Returns:
        list of dict with the keys of :data:`INTERFACE_COLUMNS`; ``addresses`` lists
        the IPv4 addresses as ``ADDRESS/PREFIX``.

    >>> links = [{"ifindex": 5, "ifname": "docker0", "address": "02:42:66:5d:7d:b3",
    ...           "operstate": "UP", "linkinfo": {"info_kind": "bridge"},
    ...           "addr_info": [{"family": "inet", "local": "172.17.0.1", "prefixlen": 16}]},
    ...          {"ifindex": 17, "ifname": "veth5c46708", "master": "docker0",
    ...           "operstate": "UP", "linkinfo": {"info_kind": "veth"}, "addr_info": []},
    ...          {"ifindex": 4, "ifname": "eth0", "operstate": "UP", "addr_info": []}]
    >>> [(r["name"], r["kind"], r["master"], r["addresses"]) for r in interface_rows(links)]
    [('docker0', 'bridge', None, ['172.17.0.1/16']), ('veth5c46708', 'veth', 'docker0', [])]
    """
    keep = tuple(prefixes) if prefixes is not None else None
    rows = []
    for link in links:
        name = link.get("ifname", "")
        if keep is not None and not name.startswith(keep):
            continue
        if bridge is not None and bridge not in (name, link.get("master")):
            continue
        rows.append({
            "index": link.get("ifindex"),
            "name": name,
            "kind": _kind(link),
            "master": link.get("master"),
            "mac": link.get("address"),
            "state": link.get("operstate"),
            "addresses": [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info") or []
                          if a.get("family") == "inet"],
        })
    return rows


def peer_links(container_links: Iterable[dict]) -> list[tuple[str, int]]:
    """``(ifname, peer index)`` for each interface whose other end lives in another namespace.

    Inside a container ``ip link`` prints ``eth0@if17``: 17 is the index of the
    veth peer on the host. In ``ip -j`` that is ``link_index``, and
    ``link_netnsid`` says the peer is in another namespace.

    >>> peer_links([{"ifname": "lo", "ifindex": 1},
    ...             {"ifname": "eth0", "ifindex": 16, "link_index": 17, "link_netnsid": 0}])
    [('eth0', 17)]
    """
    return [(link["ifname"], link["link_index"]) for link in container_links
            if link.get("link_index") is not None and link.get("link_netnsid") is not None]


def veth_rows(container_links: Mapping[str, Iterable[dict]], host_links: Iterable[dict],
              bridge_networks: Mapping[str, str] | None = None) -> list[dict]:
    """Match each container interface to its host-side veth and that veth's bridge.

    Args:
        container_links: ``{container name: ip -j link output inside it}``.
        host_links: ``ip -j link`` (or ``addr``) output on the host.
        bridge_networks: ``{bridge interface: network name}``, e.g.
            ``{"docker0": "bridge", "br-5690f74cea53": "my-net"}``.

    Returns:
        list of dict with the keys of :data:`VETH_COLUMNS`. A peer the host does not
        list (it is in yet another namespace) has ``host_if`` ``None``.

    >>> host = [{"ifindex": 17, "ifname": "veth5c46708", "master": "docker0"}]
    >>> inside = {"helloworld": [{"ifname": "eth0", "link_index": 17, "link_netnsid": 0}]}
    >>> row = veth_rows(inside, host, {"docker0": "bridge"})[0]
    >>> row["container_if"], row["host_if"], row["bridge"], row["network"]
    ('eth0@if17', 'veth5c46708', 'docker0', 'bridge')
    """
    by_index = {link.get("ifindex"): link for link in host_links}
    names = bridge_networks or {}
    rows = []
    for container, links in container_links.items():
        for ifname, peer in peer_links(links):
            host_link = by_index.get(peer) or {}
            bridge = host_link.get("master")
            rows.append({
                "container": container,
                "container_if": f"{ifname}@if{peer}",
                "peer_index": peer,
                "host_if": host_link.get("ifname"),
                "bridge": bridge,
                "network": names.get(bridge) if bridge else None,
            })
    return rows


def interface_name(links: Iterable[dict], index: int) -> str | None:
    """The name of the interface with index ``index`` in ``ip -j link`` output, or ``None``.

    >>> interface_name([{"ifindex": 5, "ifname": "docker0"},
    ...                 {"ifindex": 17, "ifname": "veth5c46708"}], 17)
    'veth5c46708'
    >>> interface_name([{"ifindex": 5, "ifname": "docker0"}], 17) is None
    True
    """
    return next((link.get("ifname") for link in links if link.get("ifindex") == index), None)


def _interface_index(index) -> int:
    """``index`` as a positive int (``17`` or ``"17"``), or one clear LabError.

    >>> _interface_index("17")
    17
    >>> _interface_index("eth0@if17")
    Traceback (most recent call last):
    ...
    dockernet.errors.LabError: 'eth0@if17' is not an interface index: give the number N of eth0@ifN, e.g. 17.
    """
    text = str(index).strip() if not isinstance(index, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise LabError(f"{index!r} is not an interface index: give the number N of eth0@ifN, "
                       "e.g. 17.")
    return int(text)


def bridge_interface(network: dict) -> str:
    """The Linux bridge of a bridge network, from its ``docker network inspect`` dict.

    >>> bridge_interface({"Id": "5690f74cea53ff", "Driver": "bridge"})
    'br-5690f74cea53'
    >>> bridge_interface({"Id": "3e56ed9a12d6aa", "Options": {"com.docker.network.bridge.name": "docker0"}})
    'docker0'
    """
    return (network.get("Options") or {}).get("com.docker.network.bridge.name") \
        or f"br-{network['Id'][:12]}"


def bridge_network_names(network_inspects: Iterable[dict],
                         short_names: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{bridge interface: network name}`` for Docker's bridge networks.

    Docker names a user-defined bridge ``br-`` and the first 12 characters of the
    network id, unless the network sets ``com.docker.network.bridge.name`` (the
    default ``bridge`` sets it to ``docker0``).

    >>> bridge_network_names([{"Name": "bridge", "Id": "3e56ed9a12d6aa", "Driver": "bridge",
    ...                        "Options": {"com.docker.network.bridge.name": "docker0"}},
    ...                       {"Name": "dn-a-02-my-net", "Id": "5690f74cea53ff",
    ...                        "Driver": "bridge"}],
    ...                      {"dn-a-02-my-net": "my-net"})
    {'docker0': 'bridge', 'br-5690f74cea53': 'my-net'}
    """
    names = short_names or {}
    found = {}
    for net in network_inspects:
        if net.get("Driver") != "bridge":
            continue
        found[bridge_interface(net)] = names.get(net["Name"], net["Name"])
    return found


# -- live: through the host-view container ------------------------------------------------


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    # pandas turns a missing bridge into NaN; None reads better in a table of names.
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("master", "bridge", "host_if", "network"):
        if column in frame:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def host_view(lab):
    """Get or start the lab's ``host-view`` container (host network, ``NET_ADMIN``; it reads,
    except for lesson 03's own rules).

    Returns:
        docker.models.containers.Container
    """
    return lab.run(HOST_VIEW, network="host", cap_add=["NET_ADMIN"], role="tool")


def host_exec(lab, command, timeout: float = 5) -> probe.ProbeResult:
    """Run a command in the host's network namespace (through ``host-view``)."""
    return probe.run(host_view(lab), command, timeout=timeout)


def _host_json(lab, argv: list, what: str):
    # stdout only, and a dump torn by other learners' interfaces coming and going is read
    # again (see probe.read_json): on a shared host, ip's warnings are routine.
    return probe.read_json(host_view(lab), argv, what=f"{what} on the Docker host",
                           hint="Is the host-view container running? Run lab.cleanup() "
                                "and try again.")


def host_links(lab, details: bool = True) -> list[dict]:
    """``ip -j [-d] addr show`` on the host, parsed."""
    argv = ["ip", "-j", *(["-d"] if details else []), "addr", "show"]
    return _host_json(lab, argv, "the interfaces")


def host_routes(lab, address: str | None = None) -> list[dict]:
    """``ip -j route show`` on the host, or ``ip -j route get ADDRESS`` when given."""
    argv = ["ip", "-j", "route", "get", address] if address else ["ip", "-j", "route", "show"]
    return _host_json(lab, argv, f"the route to {address}" if address else "the routes")


def link_by_index(lab, index) -> probe.ProbeResult:
    """The host's interface with index ``index``, as ``ip -o link show`` prints it.

    This is the host half of matching a container to its veth by hand: inside the
    container ``ip link`` prints ``eth0@ifN``, and on the host you would type
    ``ip -o link | grep '^N:'``. Here the name is looked up in one ``ip -j link``
    dump (read again when other learners' interfaces tore it), then printed with
    ``ip -o link show dev NAME`` in the host's namespace.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        index (int): an interface index on the host, e.g. the ``N`` of ``eth0@ifN``.

    Returns:
        ProbeResult: the ``ip -o link show dev NAME`` run; its output starts ``N: NAME@...``.

    Raises:
        LabError: ``index`` is not a positive whole number (nothing is started), or the
            host has no interface with that index.

    >>> box = lab.run("box")
    >>> inside = lab.exec("box", "ip -o link show eth0").output      # "2: eth0@if17: ..."
    >>> peer = int(inside.split("@if")[1].split(":")[0])
    >>> line = link_by_index(lab, peer).output
    >>> line.startswith(f"{peer}: veth"), "master docker0" in line
    (True, True)
    """
    wanted = _interface_index(index)  # checked before host-view starts: bad input makes nothing
    name = interface_name(host_links(lab, details=False), wanted)
    if name is None:
        raise LabError(f"the host has no interface with index {wanted} (any more): read eth0@ifN "
                       "inside the container again, and check the container still runs.")
    return host_exec(lab, ["ip", "-o", "link", "show", "dev", name]).expect_success()


def host_interfaces(lab, bridge: str | None = None,
                    prefixes: Iterable[str] | None = INTERFACE_PREFIXES) -> pd.DataFrame:
    """The host's bridges and veth ends as a table.

    The host is shared: other learners' containers have veth ends here too.
    :func:`veth_pairs` shows only the lesson's own.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        bridge (str): only this bridge (e.g. ``"docker0"``) and what is attached to it.
        prefixes (tuple): interface name prefixes to keep (``None``: every interface).

    Returns:
        pandas.DataFrame: columns ``index``, ``name``, ``kind`` (bridge, veth, ...),
        ``master`` (the bridge a veth is attached to), ``mac``, ``state`` and
        ``addresses`` (IPv4).

    >>> box = lab.run("box")
    >>> interfaces = host_interfaces(lab, bridge="docker0")
    >>> interfaces.iloc[0][["name", "kind", "master"]].tolist()
    ['docker0', 'bridge', None]
    >>> sorted(set(interfaces.kind))
    ['bridge', 'veth']
    """
    rows = interface_rows(host_links(lab), prefixes=prefixes, bridge=bridge)
    return _frame(rows, INTERFACE_COLUMNS)


def veth_pairs(lab, containers=None) -> pd.DataFrame:
    """Each lab container's interfaces, matched to their veth peer on the host.

    Reads ``ip -j link`` inside each container (``eth0@ifN``: N is the peer's
    index on the host) and on the host (which interface has index N, and which
    bridge it is attached to).

    Args:
        lab (dockernet.Lab): the lesson's lab.
        containers (list of str): only these (default: the lesson's containers, tools left
            out). Containers sharing the host's or another container's namespace have no
            veth of their own and are skipped.

    Returns:
        pandas.DataFrame: columns ``container``, ``container_if`` (as ``ip link`` prints it
        inside), ``peer_index``, ``host_if``, ``bridge`` and ``network`` (Docker's name for
        that bridge, the learner's name for a lab network).
    """
    chosen = lab.containers() if containers is None else [lab.get_container(c) for c in containers]
    inside = {}
    for container in chosen:
        container.reload()
        mode = container.attrs["HostConfig"].get("NetworkMode") or ""
        if container.status != "running" or mode == "host" or mode.startswith("container:"):
            continue
        inside[lab.short_name(container)] = probe.read_json(
            container, ["ip", "-j", "link"], what=f"the links of {lab.short_name(container)}",
            hint="Is it still running? Re-run the cell that starts it.")
    short_names = {n.name: lab.short_name(n) for n in lab.networks()}
    bridges = bridge_network_names((n.attrs for n in lab.client.networks.list(greedy=False)),
                                   short_names)
    rows = veth_rows(inside, host_links(lab, details=False), bridges)
    return _frame(rows, VETH_COLUMNS).astype({"peer_index": "Int64"})


def cleanup_runner(client, learner: str, lesson: str, cleaner: str, own: str = HOST_VIEW,
                   **settings):
    """A container in the host's network namespace for a cleanup to run host-side commands in.

    The lesson's own running host view (or the tool named ``own``) when there is one, else a
    short-lived helper named ``cleaner``, labelled as the lesson's tool so that the cleanup
    which follows removes it too.

    Args:
        client: a docker SDK client.
        learner (str): whose cleanup this is.
        lesson (str): which lesson's.
        cleaner (str): the short name of the one-shot helper, e.g. ``"fw-cleanup"``.
        own (str): the short name of the lesson's tool to reuse when it runs.
        settings: more container settings for the helper (e.g. ``mounts``).

    Returns:
        docker.models.containers.Container
    """
    import docker  # late: the pure helpers above need no docker SDK

    from . import image
    from .naming import ROLE, docker_name, lab_labels, owned_by

    try:
        view = client.containers.get(docker_name(learner, lesson, own))
        if owned_by(view.labels, learner, lesson) and view.status == "running":
            return view
    except docker.errors.NotFound:
        pass
    name = docker_name(learner, lesson, cleaner)
    try:
        old = client.containers.get(name)
        if owned_by(old.labels, learner, lesson):
            old.remove(force=True)
    except docker.errors.NotFound:
        pass
    labels = lab_labels(learner, lesson, "cleanup", cleaner)
    labels[ROLE] = "tool"
    return client.containers.run(image.image_tag(), ["sleep", "120"], name=name, labels=labels,
                                 network_mode="host", cap_add=["NET_ADMIN"], init=True,
                                 detach=True, **settings)
