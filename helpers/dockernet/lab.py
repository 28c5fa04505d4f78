"""``Lab``: one learner x one lesson, and everything that lesson creates.

Creating a ``Lab`` resets that learner's objects for that lesson (leftovers of a
dead kernel included). Every container, network and volume it makes carries the
lab's labels; it is found again by its namespaced name and trusted only if its
labels say it is this learner's, so re-running a cell returns what is there when
the spec is the same and replaces it when it changed.

Learners type short names (``helloworld``, ``my-net``); the real Docker names
are namespaced (``dn-alice-01-helloworld``) so many learners share one daemon.
On user-defined networks the short names resolve through network aliases.

>>> from dockernet import Lab
>>> lab = Lab("01-default-bridge", quiet=True)
>>> web = lab.hello_server("helloworld")
>>> client = lab.run("helloworld2")
>>> lab.curl("helloworld2", f"http://{lab.ip('helloworld')}:8000").output
'Hello Docker!'
>>> web.name.endswith("-01-helloworld"), lab.short_name(web)
(True, 'helloworld')
"""

from __future__ import annotations

import time
import uuid

import docker
from docker.types import EndpointConfig, IPAMConfig, IPAMPool

from . import addressing, image, probe, realhosts
from .cleanup import Removed, remove_lab_objects
from .connect import get_client
from .errors import LabError, UnknownObject
from .naming import (
    BUILTIN_NETWORKS,
    ROLE,
    SHORT_NAME,
    SPEC,
    check_short_name,
    display_name,
    docker_name,
    lab_labels,
    label_filters,
    learner_id,
    owned_by,
    sanitize_learner,
    spec_hash,
)

HELLO_PORT = 8000
#: Seconds a server may take to answer after its container started. A second alone; a
#: classroom on one 2-core host starts 30 at once, and waiting costs nothing once it answers.
READY_TIMEOUT_S = 30
#: Every lab container's fallback DNS server: itself, where nothing listens. Names Docker does
#: not know then fail at once instead of going to the host's resolver, off the machine.
LOCAL_ONLY_DNS = ["127.0.0.1"]
#: With LOCAL_ONLY_DNS, a name nobody knows fails after the resolver's timeouts (2 s, then 4 s),
#: not 5 s x 2. Shorter ones fail names Docker knows too when a classroom keeps dockerd busy.
LOCAL_ONLY_DNS_OPTIONS = ["timeout:2", "attempts:2"]
#: Every flag ``Lab.run`` adds to what a learner asked for, and why (lesson 00 lists them all,
#: so the docker CLI lines in the lessons can say "plus the lab's flags").
LAB_RUN_FLAGS = {
    "--name dn-<learner>-<lesson>-<name>": "learners share one daemon: each gets names of their own",
    "--label dockernet.*": "cleanup finds and removes only what the lab made",
    "--network-alias <name>": "on a lab network, the short name resolves as well as the real one",
    "--hostname <name>": "prompts and outputs read well; Docker's default is the container id, "
                         "and the hostname is also a name the container resolves",
    "--dns 127.0.0.1": "no name lookup ever leaves the machine",
    "--dns-option timeout:2 --dns-option attempts:2": "an unknown name fails in seconds",
    "--init": "a small init reaps processes and passes signals on: `docker stop` ends at once",
    "-p 127.0.0.1:HOSTPORT:PORT": "a published port is reachable from this machine only",
}
#: The blog post's helloworld: a directory with one index page, served by python3's http.server.
HELLO_COMMAND = ('mkdir -p /srv/hello && printf "%s\\n" "$MESSAGE" > /srv/hello/index.html '
                 '&& exec python3 -m http.server --directory /srv/hello "$PORT"')


class Lab:
    """One learner's workspace for one lesson.

    Args:
        lesson (str): the lesson id, e.g. ``"01-default-bridge"``.
        learner (str): override the learner id (default: ``DOCKERNET_LEARNER``,
            ``JUPYTERHUB_USER``, then the OS user).
        client (docker.DockerClient): an existing client (default: found by
            :func:`dockernet.connect.get_client`).
        reset (bool): remove this learner's objects of this lesson first.
        pool (str): the subnet pool for lab networks (default ``DOCKERNET_POOL``).
        quiet (bool): print nothing on start.
        hosts (list): real Docker hosts for the cross-host lesson: docker context names or
            ``ssh://``/``tcp://`` URLs (:func:`dockernet.realhosts.parse_hosts`), checked first.

    Attributes:
        client: the docker SDK client, for learners who want the raw API.
        image (str): the lab image's tag.
    """

    def __init__(self, lesson: str, *, learner: str | None = None, client=None,
                 reset: bool = True, pool: str | None = None, quiet: bool = False,
                 hosts: list | None = None):
        self.lesson = check_short_name(lesson, what="lesson")
        # Checked before anything is made; only lesson 10 uses them.
        self.hosts = [] if hosts is None else realhosts.parse_hosts(hosts)
        self.learner = sanitize_learner(learner) if learner else learner_id()
        self.session = uuid.uuid4().hex[:12]
        self.pool = addressing.parse_pool(pool)
        self.client = client or get_client()
        self.image = self._ensure_image()
        removed = self.reset() if reset else Removed()
        if not quiet:
            print(f"Lab {self.lesson!r} for learner {self.learner!r}: ready"
                  + (f" ({removed.summary()} left from an earlier run)" if removed else ""))

    def __repr__(self) -> str:
        return f"Lab({self.lesson!r}, learner={self.learner!r})"

    def _ensure_image(self) -> str:
        # A present image costs one inspect and says nothing; building prints its own progress,
        # so a first run is never a silent slow step.
        if image.find(self.client) is None:
            image.ensure(self.client)
        return image.image_tag()

    # -- names and lookups ---------------------------------------------------------------

    def name(self, short: str) -> str:
        """The real Docker name of the lab object a learner calls ``short``."""
        return docker_name(self.learner, self.lesson, short)

    def _labels(self, short: str, spec: dict, role: str = "") -> dict:
        labels = lab_labels(self.learner, self.lesson, self.session, short, spec_hash(spec))
        if role:
            labels[ROLE] = role
        return labels

    def _filters(self, short: str | None = None) -> dict:
        labels = label_filters(self.learner, self.lesson)
        if short:
            labels.append(f"{SHORT_NAME}={short}")
        return {"label": labels}

    def _owned(self, labels: dict | None) -> bool:
        return owned_by(labels, self.learner, self.lesson)

    def _find_container(self, short: str):
        # One inspect by the namespaced name (a filtered list costs a list plus an inspect per
        # hit); the labels then decide: an object that merely has our name is not ours.
        try:
            found = self.client.containers.get(self.name(short))
        except docker.errors.NotFound:
            return None
        return found if self._owns(found.labels, short) else None

    def _find_network(self, short: str):
        try:
            found = self.client.networks.get(self.name(short))
        except docker.errors.NotFound:
            return None
        return found if self._owns(found.attrs.get("Labels"), short) else None

    def _owns(self, labels: dict | None, short: str) -> bool:
        return self._owned(labels) and (labels or {}).get(SHORT_NAME) == short

    def get_container(self, name):
        """The lab container a learner calls ``name``, freshly inspected.

        A docker SDK Container is accepted too, if the lab made it for this lesson.

        Raises:
            UnknownObject: no such container in this lesson; the message lists the known ones.
        """
        if isinstance(name, docker.models.containers.Container):
            name = self.short_name(name) if self._owned(name.labels) else name.name
        check_short_name(name, what="container name")
        found = self._find_container(name)
        if found is None:
            known = ", ".join(sorted(self.short_name(c) for c in self.containers())) or "none yet"
            raise UnknownObject(f"This lesson has no container {name!r} (it has: {known}). "
                                f"Create it first, e.g. lab.run({name!r}), or check the spelling.")
        return found

    def get_network(self, name):
        """The network a learner calls ``name``: Docker's own ``bridge``/``host``/``none``,
        or a lab network (a docker SDK Network of this lesson is accepted too).

        Raises:
            UnknownObject: no such network in this lesson.
        """
        if isinstance(name, docker.models.networks.Network):
            name = self.short_name(name) if self._owned(name.attrs.get("Labels")) else name.name
        if name in BUILTIN_NETWORKS:
            return self.client.networks.get(name)
        check_short_name(name, what="network name")
        found = self._find_network(name)
        if found is None:
            known = ", ".join(sorted(self.short_name(n) for n in self.networks())) or "none yet"
            raise UnknownObject(f"This lesson has no network {name!r} (lab networks: {known}; "
                                f"Docker's own: bridge, host, none). Create it with "
                                f"lab.network({name!r}).")
        return found

    def containers(self, include_tools: bool = False) -> list:
        """This lesson's containers (docker SDK objects), oldest first.

        Args:
            include_tools (bool): also list helper containers run with ``role="tool"``.
        """
        found = [c for c in self.client.containers.list(all=True, filters=self._filters())
                 if self._owned(c.labels) and (include_tools or not c.labels.get(ROLE))]
        return sorted(found, key=lambda c: c.attrs.get("Created", ""))

    def networks(self) -> list:
        """This lesson's networks (docker SDK objects)."""
        return [n for n in self.client.networks.list(filters=self._filters())
                if self._owned(n.attrs.get("Labels"))]

    @staticmethod
    def short_name(obj) -> str:
        """The name a learner knows a container or network by."""
        labels = obj.labels if hasattr(obj, "labels") else obj.attrs.get("Labels")
        return display_name(labels, obj.name)

    # -- networks ------------------------------------------------------------------------

    def network(self, name: str, *, subnet: str | None = None, hosts: int | None = None,
                driver: str = "bridge", internal: bool = False, attachable: bool = False,
                options: dict | None = None, gateway: str | bool | None = True,
                aux_addresses: dict | None = None):
        """Get or create a lab network.

        Args:
            name (str): the learner's name for it, e.g. ``"my-net"``.
            subnet (str): a CIDR you choose; by default one comes from the lab pool.
            hosts (int): how many container addresses it must hold (sizes the subnet).
            driver (str): the network driver.
            internal (bool): no route out of the network.
            attachable (bool): for overlay networks.
            options (dict): driver options.
            gateway: ``True`` (the subnet's first address, the lab's default), an address,
                or ``None``: leave it to the engine (``docker network create`` without
                ``--gateway``; lesson 08 shows what macvlan does then).
            aux_addresses (dict): addresses the engine must never hand out (the CLI's
                ``--aux-address name=ADDRESS``): ``{name: address}``, or ``{name: index}``
                with an index into the subnet (``-2`` is the last usable address).

        Returns:
            docker.models.networks.Network

        Raises:
            LabError: invalid, overlapping or too small subnet; nothing is created.
        """
        check_short_name(name, what="network name")
        if name in BUILTIN_NETWORKS:
            raise LabError(f"{name!r} is one of Docker's own networks; pick another name "
                           f"for a lab network, e.g. 'my-{name}'.")
        requested = addressing.parse_subnet(subnet) if subnet is not None else None
        if requested is not None:
            addressing.check_capacity(requested, hosts)
        spec = {"driver": driver, "subnet": subnet, "hosts": hosts, "internal": internal,
                "attachable": attachable, "options": options or {}}
        if gateway is not True or aux_addresses:  # older specs (and their hashes) stay as they were
            spec.update(gateway=gateway, aux_addresses=aux_addresses or {})
        existing = self._find_network(name)
        if existing is not None and existing.attrs["Labels"].get(SPEC) == spec_hash(spec):
            return existing
        taken = [(owner, net) for owner, net in addressing.docker_subnets(self.client)
                 if existing is None or owner != existing.name]
        routes = addressing.host_routes()
        if requested is not None:
            clash = addressing.overlapping(requested, [net for _, net in taken])
            clash += addressing.overlapping(requested, routes)
            if clash:
                owners = [f"{owner} ({net})" for owner, net in taken if net in clash] or \
                    [f"a host route ({net})" for net in clash]
                raise LabError(f"subnet {requested} overlaps {', '.join(owners)}: choose a "
                               f"subnet that overlaps none, or leave subnet out and the lab picks one.")
        if existing is not None:
            self._remove_network(existing)
        return self._create_network(name, spec, requested, hosts,
                                    busy=[net for _, net in taken] + routes)

    def free_subnet(self, prefix: int = addressing.DEFAULT_PREFIX) -> str:
        """Propose a subnet for a network whose subnet you choose; nothing is created.

        The proposal lies in :data:`~dockernet.addressing.CHOICE_RANGE` (``10.208.0.0/12``):
        outside the lab pool (``lab.pool``) and Docker's default pools, and it overlaps no
        Docker network and no route of this host. Each learner starts looking at a place
        of their own, so a classroom asking at the same moment gets different answers.
        Someone may still take it before you create your network: ``lab.network`` then
        refuses it with a :class:`LabError`, and asking again proposes another.

        Args:
            prefix (int): the subnet's prefix length, ``/12`` to ``/30`` (default 24).

        Returns:
            str: a CIDR such as ``"10.214.37.0/24"``.

        Raises:
            LabError: no free subnet of that size is left (or the prefix is out of range).

        Example:

            >>> subnet = lab.free_subnet()          # e.g. '10.214.37.0/24'
            >>> subnet.startswith("10.") and subnet.endswith("/24")
            True
            >>> exercise_net = lab.network("exercise-net", subnet=subnet)
            >>> exercise_net.attrs["IPAM"]["Config"][0]["Subnet"] == subnet
            True
            >>> lab.free_subnet() != subnet         # now taken: the next proposal skips it
            True
        """
        taken = [net for _, net in addressing.docker_subnets(self.client)]
        return str(addressing.propose_subnet([*taken, *addressing.host_routes()], prefix,
                                             start_key=self.learner, lab_pool=self.pool))

    def _create_network(self, name, spec, requested, hosts, busy):
        prefix = addressing.prefix_for_hosts(hosts) if hosts else addressing.DEFAULT_PREFIX
        tried = []
        for _attempt in range(20):
            subnet = requested or addressing.first_free(self.pool, prefix, busy,
                                                        start_key=self.learner, skip=tried)
            try:
                return self.client.networks.create(
                    self.name(name), driver=spec["driver"], internal=spec["internal"],
                    attachable=spec["attachable"], options=spec["options"] or None,
                    labels=self._labels(name, spec), check_duplicate=True,
                    ipam=IPAMConfig(pool_configs=[_pool(subnet, spec)]))
            except docker.errors.APIError as exc:
                # Another learner took this subnet a moment ago: move on to the next one.
                if requested is None and "overlap" in str(exc).lower():
                    tried.append(subnet)
                    continue
                raise _explain_api_error(exc, f"network {name!r}") from None
        raise LabError("could not find a free subnet after 20 tries; run "
                       "`python -m dockernet clean` and try again.")

    def remove_network(self, name) -> None:
        """``docker network rm``, for one of this lesson's networks: the lab's containers on it
        are disconnected first. A container the lab did not create keeps it attached: then
        :class:`LabError`, and nothing changes. Docker's own networks are never removed.

        >>> _ = lab.network("gone-net")
        >>> lab.remove_network("gone-net")
        >>> "gone-net" in [lab.short_name(n) for n in lab.networks()]
        False
        """
        if name in BUILTIN_NETWORKS:
            raise LabError(f"{name!r} is Docker's own network: the lab never removes it.")
        self._remove_network(self.get_network(name))

    def _remove_network(self, network) -> None:
        network.reload()
        attached = []
        for endpoint_id in network.attrs.get("Containers") or {}:
            try:  # overlay networks also list a load balancer endpoint ("lb-..."), not a container
                attached.append(self.client.containers.get(endpoint_id))
            except docker.errors.NotFound:
                continue
        foreign = [c.name for c in attached if not self._owned(c.labels)]
        if foreign:  # checked before anything changes: all or nothing
            raise LabError(f"network {self.short_name(network)!r} has containers the lab did not "
                           f"create attached ({', '.join(foreign)}); disconnect them first.")
        for container in attached:
            network.disconnect(container.id, force=True)
        try:
            self.client.api.remove_network(network.id)
        except docker.errors.NotFound:
            pass

    # -- containers ----------------------------------------------------------------------

    def run(self, name: str, command=None, *, network: str = "bridge", aliases=None,
            environment: dict | None = None, ports: dict | None = None, cap_add=None,
            volumes=None, hostname: str | None = None, image_tag: str | None = None,
            dns: list | None = None, role: str = "", **extra):
        """Get or create a running lab container (the lab image, ``sleep infinity`` by default).

        Args:
            name (str): the learner's name for it, e.g. ``"helloworld"``.
            command (str or list): what it runs.
            network (str): ``"bridge"`` (Docker's default), ``"host"``, ``"none"``,
                ``"container:NAME"`` or a lab network's name.
            aliases (list): extra DNS names on a lab network (its own name is always one).
            environment (dict): environment variables.
            ports (dict): ``{"8000/tcp": 8080}``; a bare host port binds to 127.0.0.1.
            cap_add (list): capabilities, e.g. ``["NET_ADMIN"]``.
            volumes (dict): docker-py volume bindings.
            hostname (str): defaults to ``name``, so prompts and outputs read well.
            image_tag (str): another image already present (never pulled).
            dns (list): DNS servers for names Docker's embedded DNS does not know
                (default ``LOCAL_ONLY_DNS``: no lookup leaves the machine, and one that
                nobody answers fails within about 6 s, or the probe's own timeout).
            role (str): ``"tool"`` marks a helper container (e.g. a host view) that
                tables and plots leave out of the lesson's picture.
            **extra: passed to ``client.containers.create``.

        Returns:
            docker.models.containers.Container: running.
        """
        check_short_name(name, what="container name")
        mode, identity, endpoint = self._network_settings(network, name, aliases)
        # The network's (or namespace owner's) id, not its name: when a lab network or a
        # container: target is replaced, a re-run must replace this container too.
        spec = {"command": command, "network": identity, "aliases": sorted(aliases or []),
                "environment": environment or {}, "ports": _loopback_ports(ports),
                "cap_add": sorted(cap_add or []), "volumes": volumes, "hostname": hostname,
                "image": image_tag or self.image, "dns": dns, "role": role, "extra": extra}
        existing = self._find_container(name)
        if existing is not None:
            if existing.labels.get(SPEC) == spec_hash(spec) and existing.status == "running":
                return existing
            self.client.api.remove_container(existing.id, force=True)
        create = dict(command=command if command is not None else ["sleep", "infinity"],
                      name=self.name(name), labels=self._labels(name, spec, role), detach=True,
                      init=True, environment=environment, ports=spec["ports"] or None,
                      cap_add=cap_add, volumes=volumes, **extra)
        if not mode.startswith("container:") and mode not in ("host",):
            create["hostname"] = hostname or name
            if dns is None:
                create.update(dns=LOCAL_ONLY_DNS, dns_opt=LOCAL_ONLY_DNS_OPTIONS)
            else:
                create["dns"] = dns
        create["network"] = mode
        if endpoint is not None:
            create["networking_config"] = {mode: endpoint}
        try:
            container = self.client.containers.create(spec["image"], **create)
        except docker.errors.ImageNotFound:
            raise LabError(f"image {spec['image']!r} is not present and the lab never pulls "
                           "silently: run `python -m dockernet image`, or pull it yourself.") from None
        except docker.errors.APIError as exc:
            raise _explain_api_error(exc, f"container {name!r}") from None
        try:
            container.start()
        except docker.errors.APIError as exc:
            self.client.api.remove_container(container.id, force=True)  # leave nothing half-made
            raise _explain_api_error(exc, f"container {name!r}") from None
        container.reload()
        return container

    def _network_settings(self, network: str, name: str, aliases):
        """Docker's network mode for ``network``, its identity for the spec, and the endpoint
        (aliases) on a lab network."""
        if network in BUILTIN_NETWORKS:
            if aliases:
                raise LabError(f"aliases work on user-defined networks only, not on {network!r}: "
                               "create one with lab.network('my-net') and run on it.")
            return network, network, None
        if network.startswith("container:"):
            mode = "container:" + self.get_container(network.split(":", 1)[1]).id
            return mode, mode, None
        if network.startswith("service:"):
            raise LabError(f"network {network!r} is Compose's spelling (network_mode: service:x); "
                           f"Docker's is 'container:NAME': use network='container:"
                           f"{network.split(':', 1)[1]}'.")
        real = self.get_network(network)
        return real.name, real.id, EndpointConfig(self.client.api._version,
                                                  aliases=[name, *(aliases or [])])

    def hello_server(self, name: str, *, network: str = "bridge", message: str = "Hello Docker!",
                     port: int = HELLO_PORT, bind: str | None = None, aliases=None, **extra):
        """The seed's helloworld: a web server answering ``message`` on ``port``.

        Waits until the server answers inside its container, so the next cell's
        curl does not race its start. ``extra`` goes to :meth:`run`.

        Args:
            bind (str): the address it listens on (``--bind``); by default every
                address of the container. ``"127.0.0.1"`` shows the classic mistake:
                a server only its own container can reach.

        Raises:
            LabError: the server stopped (e.g. on the host network, its port was
                taken: the message carries its last log lines) or never answered.
        """
        environment = {"MESSAGE": message, "PORT": str(port)}
        command = HELLO_COMMAND
        if bind:
            environment["BIND"] = bind
            command = HELLO_COMMAND.replace('"$PORT"', '--bind "$BIND" "$PORT"')
        container = self.run(name, ["sh", "-c", command], network=network, aliases=aliases,
                             environment=environment, **extra)
        # Where the server listens: a wildcard answers on loopback, anything else on itself.
        ask = bind if bind and bind not in ("0.0.0.0", "::") else "127.0.0.1"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            container.reload()
            if container.status != "running":
                break  # it died (a port already taken on the host network): say so at once
            try:
                if probe.curl(container, f"http://{ask}:{port}/", timeout=1).ok and \
                        (not _shares_ports(network) or _listens_itself(container, port)):
                    return container
            except LabError:
                continue  # it stopped between the two looks: the next turn says so
            time.sleep(0.1)
        logs = container.logs(tail=5).decode(errors="replace").strip()
        state = "stopped" if container.status != "running" else f"did not answer within {READY_TIMEOUT_S} s"
        self.client.api.remove_container(container.id, force=True)  # leave nothing half-made
        raise LabError(f"hello server {name!r} on port {port} {state}. Its last log lines:\n{logs}")

    def connect(self, container, network, *, aliases=None):
        """Connect a container to a lab network (idempotent); its name becomes a DNS alias."""
        target = self.get_container(container)
        net = self.get_network(network)
        if net.name in BUILTIN_NETWORKS and aliases:
            raise LabError(f"aliases work on user-defined networks only, not on {net.name!r}.")
        wanted = sorted({self.short_name(target), *(aliases or [])})
        current = (target.attrs["NetworkSettings"]["Networks"] or {}).get(net.name)
        try:
            if current is not None:
                have = sorted(set(current.get("Aliases") or []) - {target.id[:12]})
                if net.name in BUILTIN_NETWORKS or have == wanted:
                    return target
                net.disconnect(target)
            net.connect(target, aliases=None if net.name in BUILTIN_NETWORKS else wanted)
        except docker.errors.APIError as exc:
            raise _explain_api_error(exc, f"connecting {self.short_name(target)!r} to "
                                          f"{self.short_name(net)!r}") from None
        target.reload()
        return target

    def disconnect(self, container, network):
        """Disconnect a container from a network (nothing happens if it is not connected)."""
        target = self.get_container(container)
        net = self.get_network(network)
        if net.name in (target.attrs["NetworkSettings"]["Networks"] or {}):
            try:
                net.disconnect(target)
            except docker.errors.APIError as exc:
                raise _explain_api_error(exc, f"disconnecting {self.short_name(target)!r}") from None
            target.reload()
        return target

    def volume(self, name: str):
        """Get or create a lab volume."""
        check_short_name(name, what="volume name")
        for found in self.client.volumes.list(filters=self._filters(name)):
            if self._owned(found.attrs.get("Labels")):
                return found
        # Docker hands back an existing volume of that name instead of failing: re-check it.
        created = self.client.volumes.create(self.name(name), labels=self._labels(name, {}))
        if not self._owns(created.attrs.get("Labels"), name):
            raise LabError(f"volume {name!r}: a volume named {created.name} exists that the lab did "
                           "not create; the lab never touches it. Rename or remove it yourself, or "
                           "set DOCKERNET_LEARNER to another id.")
        return created

    # -- looking and probing -------------------------------------------------------------

    def ip(self, container, network: str = "bridge") -> str:
        """A container's IPv4 address on a network (``"bridge"`` by default)."""
        target = self.get_container(container)
        net = self.get_network(network)
        endpoint = (target.attrs["NetworkSettings"]["Networks"] or {}).get(net.name)
        if not endpoint or not endpoint.get("IPAddress"):
            on = ", ".join(target.attrs["NetworkSettings"]["Networks"] or {})
            raise UnknownObject(f"{self.short_name(target)!r} has no address on "
                                f"{self.short_name(net)!r} (it is on: {on or 'no network'}).")
        return endpoint["IPAddress"]

    def exec(self, container, command, timeout: float = 10) -> probe.ProbeResult:
        """Run a command in a container; the timeout is enforced inside it."""
        return probe.run(self.get_container(container), command, timeout=timeout)

    def curl(self, container, url: str, timeout: float = 3) -> probe.ProbeResult:
        """``curl URL`` from inside a container."""
        return probe.curl(self.get_container(container), url, timeout=timeout)

    def ping(self, container, target: str, count: int = 1, timeout: float = 2) -> probe.ProbeResult:
        """``ping TARGET`` from inside a container."""
        return probe.ping(self.get_container(container), target, count=count, timeout=timeout)

    def lookup(self, container, name: str, timeout: float = 3) -> probe.ProbeResult:
        """Resolve a name the way programs in the container do (``getent hosts``)."""
        return probe.lookup(self.get_container(container), name, timeout=timeout)

    def dig(self, container, name: str, server: str | None = None,
            timeout: float = 3) -> probe.ProbeResult:
        """Ask one DNS server directly (``dig +short``) from inside a container, once.

        :meth:`lookup` shows what programs see (``/etc/hosts`` first, then DNS); ``dig``
        shows what one DNS server answers: ``server``, or the first ``nameserver`` in the
        container's ``resolv.conf``.

        Example:

            >>> _ = lab.network("my-net")
            >>> _ = lab.run("client", network="my-net")
            >>> _ = lab.run("server", network="my-net")
            >>> lab.dig("client", "server", server="127.0.0.11").output == lab.ip("server", "my-net")
            True
        """
        return probe.dig(self.get_container(container), name, server=server, timeout=timeout)

    def reachability(self, sources, targets=None, *, port: int | None = None,
                     network: str | None = None, by: str = "ip", timeout: float = 2,
                     workers: int = 8):
        """Who reaches whom: a DataFrame of booleans (rows: from, columns: to).

        Args:
            sources (list): container names.
            targets (list): container names (default: the sources).
            port (int): curl this port; without it, ping.
            network (str): use addresses on this network (default: each target's first).
            by (str): ``"ip"`` or ``"name"`` (the learner's short name).
            timeout (float): seconds per probe.
            workers (int): probes run at the same time.
        """
        return probe.reachability(self, sources, targets, port=port, network=network, by=by,
                                  timeout=timeout, workers=workers)

    # -- cleanup -------------------------------------------------------------------------

    def cleanup(self) -> Removed:
        """Remove everything this lesson made for this learner, and check nothing is left."""
        return remove_lab_objects(self.client, self.learner, self.lesson)

    #: A lesson's first cell resets its namespace: the same removal, leftovers of any session.
    reset = cleanup


def _pool(subnet, spec: dict) -> IPAMPool:
    """The IPAM pool for ``subnet``: its gateway (see :meth:`Lab.network`) and reserved addresses."""
    gateway = spec.get("gateway", True)
    if gateway is True:
        gateway = next(subnet.hosts())
    aux = {name: str(subnet[where] if isinstance(where, int) else where)
           for name, where in (spec.get("aux_addresses") or {}).items()}
    return IPAMPool(subnet=str(subnet), gateway=str(gateway) if gateway else None,
                    aux_addresses=aux or None)


def _shares_ports(network: str) -> bool:
    """Whether a container on ``network`` shares its ports with processes it cannot see."""
    return network == "host" or network.startswith("container:")


def _listens_itself(container, port: int) -> bool:
    """True when a process of ``container`` itself listens on ``port``.

    In a shared namespace (the host's, or ``container:X``'s) another server may answer on
    the same port while this one is failing to bind it; ``ss -p`` names only processes
    this container sees.
    """
    result = probe.run(container, ["ss", "-Hltnp", f"sport = :{port}"], timeout=3)
    return result.ok and "users:(" in result.stdout


def _loopback_ports(ports: dict | None) -> dict:
    """Bind every published port to 127.0.0.1 unless an address is spelled out.

    docker-py reads a bare port (``8080``, ``"8080"``, ``None``), a one-tuple or a list of
    them as "every interface"; an ``(address, port)`` tuple keeps its address.

    >>> _loopback_ports({"80/tcp": 8080, "81/tcp": "8081", "82/tcp": [8082, None],
    ...                  "83/tcp": ("0.0.0.0", 8083), "84/tcp": (8084,)})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'80/tcp': ('127.0.0.1', 8080), '81/tcp': ('127.0.0.1', '8081'),
     '82/tcp': [('127.0.0.1', 8082), ('127.0.0.1', None)], '83/tcp': ('0.0.0.0', 8083),
     '84/tcp': ('127.0.0.1', 8084)}
    """
    def bind(host):
        if isinstance(host, tuple):
            return host if len(host) == 2 else ("127.0.0.1", host[0])
        return ("127.0.0.1", host)

    return {container_port: [bind(h) for h in host] if isinstance(host, list) else bind(host)
            for container_port, host in (ports or {}).items()}


def _explain_api_error(exc: docker.errors.APIError, what: str) -> LabError:
    text = exc.explanation if isinstance(exc.explanation, str) else str(exc)
    if "port is already allocated" in text or "address already in use" in text:
        return LabError(f"{what}: Docker says {text!r}. That host port is taken (by another "
                        "container or a process on the host): take another with "
                        "dockernet.ports.host_port(lab, after=PORT). Nothing was created.")
    if exc.status_code == 409 or "already in use" in text or "already exists" in text:
        return LabError(f"{what}: Docker says {text!r}. An object the lab did not create holds "
                        "that name; the lab never touches it. Rename or remove it yourself, or "
                        "set DOCKERNET_LEARNER to another id.")
    return LabError(f"{what}: Docker refused it: {text}")
