"""Looking at an overlay on one host: services and their replicas, VIP and DNSRR, who
answered, a container's two interfaces, and the MTU.

The swarm itself (joining, leaving, cleanup of services) is :mod:`dockernet.swarm`'s; this
module makes a learner's services and turns what the daemon and the containers say into
tables. A service is named per learner (``dn-<learner>-09-web``) and reached by its short
name, an alias on the overlay; its replicas are called ``web-1``, ``web-2``... (their
hostnames, ``--hostname 'web-{{.Task.Slot}}'``) and answer ``Hello from web-2``.

>>> int(vxlan_overhead()["bytes"].sum())
50
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import time

import docker
import pandas as pd
from docker.types import DNSConfig, EndpointSpec, NetworkAttachmentConfig, ServiceMode

from . import probe, swarm
from .errors import LabError
from .lab import HELLO_COMMAND, HELLO_PORT, LOCAL_ONLY_DNS, LOCAL_ONLY_DNS_OPTIONS
from .naming import SPEC, check_short_name, lab_labels, owned_by, spec_hash

#: Each replica says which one it is: its hostname, set from the task's slot.
SERVICE_COMMAND = 'export MESSAGE="Hello from $(hostname)" && ' + HELLO_COMMAND
MAX_REPLICAS = 5
#: The bytes VXLAN adds around every packet an overlay carries between hosts (IPv4 underlay).
VXLAN_HEADERS = (("inner Ethernet header (the container's frame travels whole)", 14),
                 ("outer IPv4 header", 20), ("outer UDP header (port 4789)", 8),
                 ("VXLAN header (flags + 24-bit VNI)", 8))
#: Where the 1500 comes from: libnetwork's overlay driver starts from 1500 unless the network
#: sets ``com.docker.network.driver.mtu`` (``maxMTU`` in drivers/overlay/encryption.go).
OVERLAY_BASE_MTU = 1500


def vxlan_overhead() -> pd.DataFrame:
    """The headers VXLAN wraps around a container's packet, and their sizes in bytes."""
    return pd.DataFrame(VXLAN_HEADERS, columns=["header", "bytes"])


def service(lab, name: str, network: str, *, replicas: int = 3, endpoint_mode: str = "vip",
            port: int = HELLO_PORT):
    """Get or create a replicated hello-server service on a lab overlay.

    The CLI equivalent (plus the lab's labels and DNS settings)::

        docker service create --name web --replicas 3 --network name=over-net,alias=web \\
          --hostname 'web-{{.Task.Slot}}' --endpoint-mode vip dockernet-lab:<tag> sh -c '...'

    Args:
        name (str): the learner's name for it; also its DNS name on ``network``.
        network (str): a lab overlay network (made with ``lab.network(..., driver="overlay")``).
        replicas (int): how many tasks (1 to :data:`MAX_REPLICAS`).
        endpoint_mode (str): ``"vip"`` (one virtual IP, the kernel's IPVS spreads
            connections) or ``"dnsrr"`` (the name returns every replica's address).
        port (int): the port each replica serves on.

    Returns:
        docker.models.services.Service, once every replica answers.

    Raises:
        LabError: bad arguments, a network that is no lab overlay, or replicas that did not
            start (the service is removed again).
    """
    check_short_name(name, what="service name")
    if endpoint_mode not in ("vip", "dnsrr"):
        raise LabError(f"endpoint_mode {endpoint_mode!r}: use 'vip' or 'dnsrr'.")
    if not isinstance(replicas, int) or not 1 <= replicas <= MAX_REPLICAS:
        raise LabError(f"replicas={replicas!r}: use 1 to {MAX_REPLICAS} (a classroom shares one host).")
    net = lab.get_network(network)
    if net.attrs.get("Driver") != "overlay":
        raise LabError(f"network {network!r} is a {net.attrs.get('Driver')} network: services need "
                       f"an overlay, e.g. lab.network({network!r}, driver='overlay', attachable=True).")
    spec = {"network": net.id, "replicas": replicas, "mode": endpoint_mode, "port": port,
            "image": lab.image}
    existing = find(lab, name)
    if existing is not None and existing.attrs["Spec"]["Labels"].get(SPEC) == spec_hash(spec):
        _wait_ready(lab, existing, replicas, port)
        return existing
    if existing is not None:
        _remove(lab, existing)
    created = lab.client.services.create(
        lab.image, ["sh", "-c", SERVICE_COMMAND], name=lab.name(name),
        labels=lab_labels(lab.learner, lab.lesson, lab.session, name, spec_hash(spec)),
        env=[f"PORT={port}"], hostname=name + "-{{.Task.Slot}}", init=True,
        networks=[NetworkAttachmentConfig(net.name, aliases=[name])],
        mode=ServiceMode("replicated", replicas=replicas),
        endpoint_spec=EndpointSpec(mode=endpoint_mode),
        dns_config=DNSConfig(nameservers=LOCAL_ONLY_DNS, options=LOCAL_ONLY_DNS_OPTIONS))
    try:
        _wait_ready(lab, created, replicas, port)
    except LabError:
        _remove(lab, created)  # leave nothing half-made
        raise
    created.reload()
    return created


def find(lab, name: str):
    """The lab's service a learner calls ``name``, or ``None``."""
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        found = lab.client.services.get(lab.name(name))
        labels = found.attrs["Spec"].get("Labels") or {}
        if owned_by(labels, lab.learner, lab.lesson):
            return found
    return None


def _remove(lab, service) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        lab.client.api.remove_service(service.id)
    swarm.remove_task_containers(lab.client, service.id)


def _running_tasks(client, service_id: str) -> list[dict]:
    tasks = client.api.tasks(filters={"service": service_id, "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"
            and (t["Status"].get("ContainerStatus") or {}).get("ContainerID")]


def _wait_ready(lab, service, replicas: int, port: int) -> None:
    deadline = time.monotonic() + swarm.TASKS_TIMEOUT_S
    answered: set[str] = set()
    while time.monotonic() < deadline:
        for task in _running_tasks(lab.client, service.id):
            cid = task["Status"]["ContainerStatus"]["ContainerID"]
            if cid not in answered:
                with contextlib.suppress(docker.errors.NotFound, LabError):
                    if probe.curl(lab.client.containers.get(cid), f"http://127.0.0.1:{port}/",
                                  timeout=1).ok:
                        answered.add(cid)
        if len(answered) >= replicas:
            return
        time.sleep(0.3)
    errors = {t["Status"].get("Err") for t in lab.client.api.tasks(filters={"service": service.id})}
    raise LabError(f"service {service.name}: {len(answered)} of {replicas} replicas answered within "
                   f"{swarm.TASKS_TIMEOUT_S} s. Task errors: {sorted(e for e in errors if e) or 'none'}")


def tasks(lab, name: str) -> pd.DataFrame:
    """A service's running replicas: name, state, address on each overlay, container."""
    found = find(lab, name)
    if found is None:
        raise LabError(f"this lesson has no service {name!r}: make it with "
                       f"overlay.service(lab, {name!r}, NETWORK).")
    rows = []
    for task in sorted(_running_tasks(lab.client, found.id), key=lambda t: t.get("Slot", 0)):
        for attachment in task.get("NetworksAttachments") or []:
            net_name = attachment["Network"]["Spec"]["Name"]
            rows.append({"replica": f"{name}-{task.get('Slot')}", "state": task["Status"]["State"],
                         "network": _short(lab, net_name),
                         "address": attachment["Addresses"][0].split("/")[0],
                         "container": task["Status"]["ContainerStatus"]["ContainerID"][:12]})
    return pd.DataFrame(rows, columns=["replica", "state", "network", "address", "container"])


def virtual_ips(lab, name: str) -> dict:
    """A VIP-mode service's virtual IP on each network (learner's network name → address);
    empty for a DNSRR service."""
    found = find(lab, name)
    vips = ((found.attrs.get("Endpoint") or {}).get("VirtualIPs") or []) if found else []
    names = {n.id: lab.short_name(n) for n in lab.networks()}
    return {names.get(v["NetworkID"], v["NetworkID"][:12]): v["Addr"].split("/")[0] for v in vips}


def _short(lab, docker_name_: str) -> str:
    with contextlib.suppress(Exception):
        return lab.short_name(lab.client.networks.get(docker_name_))
    return docker_name_


def _who(lab) -> dict:
    """Every address the lesson's services hold: VIPs and replicas, named."""
    known = {}
    for found in swarm.lab_services(lab.client, lab.learner, lab.lesson):
        short = found["Spec"]["Labels"].get("dockernet.name", found["Spec"]["Name"])
        for vip in (found.get("Endpoint") or {}).get("VirtualIPs") or []:
            known[vip["Addr"].split("/")[0]] = f"VIP of {short}"
        with contextlib.suppress(LabError):
            for _, row in tasks(lab, short).iterrows():
                known[row["address"]] = row["replica"]
    return known


def dns_answers(lab, source: str, names) -> pd.DataFrame:
    """What the overlay's DNS server (127.0.0.11) answers ``source`` for each name, and whose
    each address is (a service's VIP, or a replica)."""
    known, rows = _who(lab), []
    for name in names:
        result = lab.dig(source, name, server="127.0.0.11")
        answers = sorted(line for line in result.stdout.splitlines() if _is_address(line))
        rows.append({"name": name, "addresses": len(answers), "answers": ", ".join(answers),
                     "which are": ", ".join(known.get(a, "?") for a in answers)})
    return pd.DataFrame(rows, columns=["name", "addresses", "answers", "which are"])


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def spread(lab, source: str, url: str, count: int = 30) -> pd.DataFrame:
    """Fetch ``url`` ``count`` times from ``source`` (one new connection each), and count
    which replica answered.

    One ``docker exec`` runs the whole loop (``count`` at most 100, 2 s per request).

    Returns:
        pandas.DataFrame: ``replica`` and ``answers``, most first; failed requests count as
        ``(no answer)``.
    """
    if not isinstance(count, int) or not 1 <= count <= 100:
        raise LabError(f"count={count!r}: use 1 to 100 requests.")
    loop = (f'for i in $(seq {count}); do curl -s --connect-timeout 2 --max-time 2 "$1" '
            '|| echo "(no answer)"; echo; done')
    result = lab.exec(source, ["sh", "-c", loop, "spread", url], timeout=4 * count + 5)
    return count_replicas(result.stdout)


def count_replicas(text: str) -> pd.DataFrame:
    """Count the answers of :func:`spread`'s loop, one per line, by replica.

    >>> count_replicas("Hello from web-2\\nHello from web-1\\n\\nHello from web-2\\n(no answer)")
           replica  answers
    0        web-2        2
    1        web-1        1
    2  (no answer)        1
    """
    answers = [line.removeprefix("Hello from ").strip() for line in text.splitlines() if line.strip()]
    return pd.DataFrame(collections.Counter(answers).most_common(), columns=["replica", "answers"])


def interfaces(lab, container: str) -> pd.DataFrame:
    """A container's interfaces as it sees them (``ip addr``), each with its MTU, the Docker
    network its subnet belongs to, and which one holds the default route."""
    target = lab.get_container(container)
    addrs = probe.read_json(target, ["ip", "-j", "-4", "addr"], what=f"{container}'s addresses")
    routes = probe.read_json(target, ["ip", "-j", "route", "show", "default"],
                             what=f"{container}'s default route")
    return interface_rows(addrs, routes, _subnets(lab, target))


def interface_rows(addrs: list, routes: list, subnets: list) -> pd.DataFrame:
    """``ip -j -4 addr`` and ``ip -j route show default`` as one table, each address named by
    the Docker network whose subnet holds it (``subnets``: ``(ip_network, name)`` pairs).

    >>> import ipaddress
    >>> addrs = [{"ifname": "eth0", "mtu": 1450, "addr_info": [{"local": "10.0.1.7", "prefixlen": 24}]},
    ...          {"ifname": "eth1", "mtu": 1500, "addr_info": [{"local": "172.18.0.6", "prefixlen": 16}]}]
    >>> nets = [(ipaddress.ip_network("10.0.1.0/24"), "over-net"),
    ...         (ipaddress.ip_network("172.18.0.0/16"), "docker_gwbridge")]
    >>> interface_rows(addrs, [{"dst": "default", "dev": "eth1"}], nets)["Docker network"].tolist()
    ['over-net', 'docker_gwbridge']
    """
    default_dev = {r.get("dev") for r in routes}
    rows = []
    for link in addrs:
        for info in link.get("addr_info") or []:
            address = ipaddress.ip_address(info["local"])
            network = next((n for net, n in subnets if address in net),
                           "(loopback)" if address.is_loopback else "?")
            rows.append({"interface": link["ifname"], "IPv4": f"{info['local']}/{info['prefixlen']}",
                         "MTU": link.get("mtu"), "Docker network": network,
                         "default route": "yes" if link["ifname"] in default_dev else ""})
    return pd.DataFrame(rows, columns=["interface", "IPv4", "MTU", "Docker network", "default route"])


def _subnets(lab, container) -> list:
    ids = [e.get("NetworkID") for e in (container.attrs["NetworkSettings"]["Networks"] or {}).values()]
    nets = [lab.client.networks.get(i) for i in ids if i]
    with contextlib.suppress(docker.errors.NotFound):
        nets.append(lab.client.networks.get(swarm.GWBRIDGE))
    found = []
    for net in nets:
        for config in (net.attrs.get("IPAM") or {}).get("Config") or []:
            if config.get("Subnet") and ":" not in config["Subnet"]:
                found.append((ipaddress.ip_network(config["Subnet"]), lab.short_name(net)))
    return found


def gwbridge(lab) -> pd.DataFrame:
    """``docker_gwbridge`` as Docker made it: its subnet, and the two options that make it a
    way *out* only (no traffic between containers, NAT to the outside)."""
    try:
        net = lab.client.networks.get(swarm.GWBRIDGE)
    except docker.errors.NotFound:
        raise LabError("this daemon has no docker_gwbridge yet: Docker makes it when the first "
                       "container joins an overlay.") from None
    options = net.attrs.get("Options") or {}
    config = ((net.attrs.get("IPAM") or {}).get("Config") or [{}])[0]
    return pd.DataFrame([{
        "network": net.name, "driver": net.attrs.get("Driver"), "subnet": config.get("Subnet"),
        "gateway": config.get("Gateway"),
        "ICC (containers reach each other)": options.get("com.docker.network.bridge.enable_icc"),
        "IP masquerade (NAT out)": options.get("com.docker.network.bridge.enable_ip_masquerade"),
    }]).set_index("network")


def allocated(lab, network: str, timeout: float = 10) -> dict:
    """An overlay's ``docker network inspect``, once swarm has given it its subnet and VNI.

    Swarm's manager allocates both just after ``docker network create`` returns: an inspect in
    that instant shows neither.
    """
    deadline = time.monotonic() + timeout
    while True:
        attrs = lab.get_network(network).attrs
        if swarm.overlay_vni(attrs) is not None and (attrs.get("IPAM") or {}).get("Config"):
            return attrs
        if time.monotonic() > deadline:
            raise LabError(f"overlay {network!r} had no VNI after {timeout:.0f} s: is the swarm "
                           "still there? (swarm.status(lab.client))")
        time.sleep(0.2)


def ipvs_here(lab, container: str) -> bool:
    """Whether the kernel has IPVS, which a VIP needs: Docker balances a service's virtual IP
    with the kernel's IP Virtual Server in each container's namespace, and Linux then shows
    ``/proc/net/ip_vs`` there. Kernels built without it (``CONFIG_IP_VS`` unset, as on some
    small VMs) resolve the VIP, but nothing answers on it."""
    return lab.exec(container, ["test", "-e", "/proc/net/ip_vs"]).ok
