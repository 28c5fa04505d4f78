"""The daemon's view of a lab as pandas tables: networks and endpoints.

Two layers. The pure functions (:func:`network_rows`, :func:`endpoint_rows`)
turn ``docker inspect`` dicts into rows and need no daemon, so they are unit
tested on captured JSON. The lab functions (:func:`networks`,
:func:`endpoints`) read live state through ``lab.client`` and build the
DataFrames a lesson shows.

Names are the learner's: a lab network shows as ``my-net`` (its Docker name,
``dn-alice-02-my-net``, is in the ``docker_name`` column); Docker's own
networks keep theirs (``bridge``, ``host``, ``none``).

>>> import dockernet as dn
>>> from dockernet import tables
>>> lab = dn.Lab("01-default-bridge", quiet=True)
>>> servers = [lab.hello_server(name) for name in ("helloworld", "helloworld2")]
>>> tables.networks(lab)[["network", "docker_name", "driver", "internal", "containers"]]
  network docker_name  driver  internal  containers
0  bridge      bridge  bridge     False           2
>>> table = tables.endpoints(lab)
>>> list(table.columns)
['container', 'network', 'ipv4', 'prefix', 'gateway', 'mac', 'dns_names']
>>> sorted(table.container), set(table.network), table.dns_names.tolist()
(['helloworld', 'helloworld2'], {'bridge'}, [[], []])
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

import pandas as pd

from .addressing import ipv4_configs
from .naming import BUILTIN_NETWORKS, display_name

NETWORK_COLUMNS = ["network", "docker_name", "driver", "subnet", "gateway", "internal",
                   "containers"]
ENDPOINT_COLUMNS = ["container", "network", "ipv4", "prefix", "gateway", "mac", "dns_names"]


# -- pure: inspect dicts -> rows ---------------------------------------------------------


def _ipv4_config(network: dict) -> dict:
    """The network's first IPv4 IPAM config (``{}`` for host/none, or IPv6 only)."""
    configs = ipv4_configs(network)
    return configs[0][1] if configs else {}


def network_rows(network_inspects: Iterable[dict], lab_container_ids: Iterable[str] = (),
                 endpoint_gateways: Mapping[str, str] | None = None) -> list[dict]:
    """One row per network, from ``docker network inspect`` dicts.

    Args:
        network_inspects: what ``client.api.inspect_network`` returns, one per network.
        lab_container_ids: full ids of the lab's containers; only those are counted
            in the ``containers`` column (another learner's containers are not ours to show).
        endpoint_gateways: ``{docker network name: gateway}`` as attached containers
            report it. Used when IPAM has no gateway, which is the case of the default
            ``bridge`` on Docker 20.10 (its gateway is docker0's own address).

    Returns:
        list of dict with the keys of :data:`NETWORK_COLUMNS`.

    >>> net = {"Name": "bridge", "Driver": "bridge", "Internal": False, "Labels": {},
    ...        "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]},
    ...        "Containers": {"abc": {}, "def": {}}}
    >>> row = network_rows([net], ["abc"], {"bridge": "172.17.0.1"})[0]
    >>> row["network"], row["subnet"], row["gateway"], row["containers"]
    ('bridge', '172.17.0.0/16', '172.17.0.1', 1)
    """
    ours = set(lab_container_ids)
    gateways = endpoint_gateways or {}
    rows = []
    for net in network_inspects:
        config = _ipv4_config(net)
        rows.append({
            "network": display_name(net.get("Labels"), net["Name"]),
            "docker_name": net["Name"],
            "driver": net.get("Driver"),
            "subnet": config.get("Subnet"),
            "gateway": config.get("Gateway") or gateways.get(net["Name"]),
            "internal": bool(net.get("Internal")),
            "containers": len(ours.intersection(net.get("Containers") or {})),
        })
    return rows


def _without_ids(names: Iterable[str], container_id: str) -> list[str]:
    """Drop the short container id Docker adds as an alias, and duplicates (order kept)."""
    kept = []
    for name in names:
        # Docker 20.10 adds the 12-character id; newer engines list it in DNSNames too.
        if not name or (len(name) >= 12 and container_id.startswith(name)) or name in kept:
            continue
        kept.append(name)
    return kept


def dns_names(endpoint: dict, container_name: str, container_id: str,
              network_name: str) -> list[str]:
    """The names other containers resolve this container by, on one network.

    Docker's embedded DNS (127.0.0.11) answers on user-defined networks only:
    on the default ``bridge`` (and ``host``/``none``) the list is empty, which is
    why ``curl http://helloworld`` fails there.

    >>> dns_names({"Aliases": ["web", "www", "0123456789ab"]}, "dn-a-02-web",
    ...           "0123456789abcdef", "dn-a-02-my-net")
    ['web', 'www', 'dn-a-02-web']
    >>> dns_names({"Aliases": None}, "dn-a-01-web", "0123456789abcdef", "bridge")
    []
    """
    if network_name in BUILTIN_NETWORKS:
        return []
    if endpoint.get("DNSNames") is not None:  # Docker 25+ says it outright
        return _without_ids(endpoint["DNSNames"], container_id)
    return _without_ids([*(endpoint.get("Aliases") or []), container_name], container_id)


def endpoint_rows(container_inspects: Iterable[dict],
                  network_names: Mapping[str, str] | None = None) -> list[dict]:
    """One row per (container, network), from ``docker container inspect`` dicts.

    Args:
        container_inspects: what ``client.api.inspect_container`` returns.
        network_names: ``{docker network name: learner's name}`` for lab networks
            (a container's inspect names its networks but not their labels);
            other networks keep Docker's name.

    Returns:
        list of dict with the keys of :data:`ENDPOINT_COLUMNS`, unsorted. Empty
        strings (no address on ``host``/``none``) become ``None``. A container in
        another's namespace (``--network container:web``) has no endpoint of its
        own, hence no row.

    >>> c = {"Id": "0123456789abcdef", "Name": "/dn-a-02-web",
    ...      "Config": {"Labels": {"dockernet.lab": "1", "dockernet.name": "web"}},
    ...      "NetworkSettings": {"Networks": {"dn-a-02-my-net": {
    ...          "IPAddress": "10.9.0.2", "IPPrefixLen": 24, "Gateway": "10.9.0.1",
    ...          "MacAddress": "02:42:0a:09:00:02", "Aliases": ["web", "0123456789ab"]}}}}
    >>> row = endpoint_rows([c], {"dn-a-02-my-net": "my-net"})[0]
    >>> row["container"], row["network"], row["ipv4"], row["dns_names"]
    ('web', 'my-net', '10.9.0.2', ['web', 'dn-a-02-web'])
    """
    names = network_names or {}
    rows = []
    for container in container_inspects:
        docker_name_ = container["Name"].lstrip("/")
        short = display_name((container.get("Config") or {}).get("Labels"), docker_name_)
        for net_name, endpoint in ((container.get("NetworkSettings") or {}).get("Networks")
                                   or {}).items():
            endpoint = endpoint or {}
            rows.append({
                "container": short,
                "network": names.get(net_name, net_name),
                "ipv4": endpoint.get("IPAddress") or None,
                "prefix": endpoint.get("IPPrefixLen") or None,
                "gateway": endpoint.get("Gateway") or None,
                "mac": endpoint.get("MacAddress") or None,
                "dns_names": dns_names(endpoint, docker_name_, container["Id"], net_name),
            })
    return rows


def endpoint_gateways(container_inspects: Iterable[dict]) -> dict[str, str]:
    """``{docker network name: gateway}`` as the containers' endpoints report it."""
    found = {}
    for container in container_inspects:
        for net_name, endpoint in ((container.get("NetworkSettings") or {}).get("Networks")
                                   or {}).items():
            if (endpoint or {}).get("Gateway"):
                found.setdefault(net_name, endpoint["Gateway"])
    return found


def _address_key(address) -> int:
    # Numeric order (10.0.0.9 before 10.0.0.10); endpoints without an address go last.
    return int(ipaddress.ip_address(address)) if address else 2**32


def endpoints_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame in :data:`ENDPOINT_COLUMNS` order, sorted by network then address."""
    rows = sorted(rows, key=lambda r: (r["network"], _address_key(r["ipv4"]), r["container"]))
    frame = pd.DataFrame(rows, columns=ENDPOINT_COLUMNS)
    frame["prefix"] = frame["prefix"].astype("Int64")  # stays an integer next to missing ones
    return frame


def networks_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame in :data:`NETWORK_COLUMNS` order: Docker's own networks first."""
    def order(row):
        builtin = row["docker_name"] in BUILTIN_NETWORKS
        return (not builtin, BUILTIN_NETWORKS.index(row["docker_name"]) if builtin else 0,
                row["network"])
    frame = pd.DataFrame(sorted(rows, key=order), columns=NETWORK_COLUMNS)
    frame["containers"] = frame["containers"].astype(int)
    return frame


# -- live: a Lab -> DataFrames -----------------------------------------------------------


def _inspect_containers(lab, containers=None) -> list[dict]:
    chosen = lab.containers() if containers is None else [lab.get_container(c) for c in containers]
    return [c.attrs for c in chosen]  # the SDK's list and get already inspected each one


def networks(lab, names=None) -> pd.DataFrame:
    """The lab's networks, and every network its containers are attached to.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        names (list of str): only these networks (learner's names, or ``bridge``,
            ``host``, ``none``), whether or not a container uses them.

    Returns:
        pandas.DataFrame: columns ``network`` (the learner's name), ``docker_name``,
        ``driver``, ``subnet``, ``gateway``, ``internal`` and ``containers`` (how many
        of the lab's containers are attached).

    Raises:
        dockernet.UnknownObject: a name in ``names`` is not a network of this lesson.

    >>> _ = lab.run("box")
    >>> networks(lab)[["network", "driver", "containers"]]
      network  driver  containers
    0  bridge  bridge           1
    """
    inspects = _inspect_containers(lab)
    if names is None:
        ids = [n.id for n in lab.networks()]
        for container in inspects:
            ids += [e.get("NetworkID") for e in
                    (container["NetworkSettings"].get("Networks") or {}).values()]
    else:
        ids = [lab.get_network(name).id for name in names]
    unique = [i for i in dict.fromkeys(ids) if i]  # one row each, first seen first
    network_inspects = [lab.client.api.inspect_network(i) for i in unique]
    rows = network_rows(network_inspects, [c["Id"] for c in inspects],
                        endpoint_gateways(inspects))
    return networks_frame(rows)


def endpoints(lab, networks=None, containers=None) -> pd.DataFrame:
    """One row per (container, network): the container's address card on that network.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        networks (list of str): only endpoints on these networks (learner's names or
            ``bridge``/``host``/``none``).
        containers (list of str): only these containers (default: the lesson's,
            helper "tool" containers left out).

    Returns:
        pandas.DataFrame: columns ``container``, ``network``, ``ipv4``, ``prefix``,
        ``gateway``, ``mac`` and ``dns_names`` (the names other containers can resolve
        it by there: empty on the default bridge), sorted by network then address.

    Raises:
        dockernet.UnknownObject: an unknown container or network name.

    >>> _ = lab.network("my-net")
    >>> _ = lab.run("db", network="my-net", aliases=["database"])
    >>> table = endpoints(lab, networks=["my-net"])
    >>> table[["container", "network"]]
      container network
    0        db  my-net
    >>> sorted(table.dns_names[0]) == sorted(["db", "database", lab.name("db")])
    True
    """
    short_names = {n.name: lab.short_name(n) for n in lab.networks()}
    rows = endpoint_rows(_inspect_containers(lab, containers), short_names)
    if networks is not None:
        wanted = {lab.get_network(n).name for n in networks}  # unknown names raise here
        shown = {short_names.get(name, name) for name in wanted}
        rows = [row for row in rows if row["network"] in shown]
    return endpoints_frame(rows)
