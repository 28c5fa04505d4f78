"""Links the lab makes on the host for lesson 08: a parent for macvlan and ipvlan, and a shim.

A macvlan (or ipvlan) network hangs its containers' interfaces off a **parent** interface
of the host, usually the network card. The lab never uses the learner's card: it makes a
veth pair of its own in the host's network namespace and uses one end as the parent, so
the containers' frames never leave the machine. The pair is made through the host view
(:func:`dockernet.hostview.host_view`: a lab container on the host network with
``NET_ADMIN``), exactly as :mod:`dockernet.firewall.labrules` adds its rules, and the
same three things keep a shared host safe:

- before the first link, a **marker** is created: a labelled lab volume
  (``dn-<learner>-<NN>-host-links``), so that every cleanup knows to look;
- every link carries the alias ``dockernet <learner> <lesson>`` (``ip link set ... alias``),
  and its name is derived from learner and lesson (``dn`` + 8 hex digits + a role, at most
  15 characters, Linux's limit): 30 learners get 30 parents and never collide;
- cleanup (:func:`remove_marked`, in :data:`dockernet.cleanup.BEFORE_OBJECTS`) deletes only
  the links whose alias is exactly this learner's and lesson's, then checks none is left.

The host also gets addresses on these links, both reserved in the macvlan network's IPAM
(``aux_addresses``, so Docker never hands them to a container): one on the parent, which
gives the host a route to the containers' subnet that stays on the veth pair, and one on
the **shim**, a macvlan link of the host's own on the same parent, with a ``/32`` route per
container through it. Nothing is ever sent to an address the daemon did not give out, and
:func:`host_reach` checks the host's route (``ip route get``) before each ping.

>>> import dockernet as dn
>>> from dockernet import hostlinks
>>> lab = dn.Lab("08-macvlan-ipvlan", quiet=True)
>>> parent = hostlinks.parent(lab)
>>> parent == hostlinks.link_names(lab.learner, lab.lesson)["parent"], len(parent) <= 15
(True, True)
>>> sorted(row["name"].split("-")[1] for row in hostlinks.lab_links(lab))  # the pair's ends
['mv', 'mvp']
>>> _ = lab.cleanup()
>>> hostlinks.lab_links(lab)
[]
"""

from __future__ import annotations

import hashlib
import ipaddress

import docker
import pandas as pd

from . import hostview, probe
from .errors import CleanupIncomplete, LabError
from .naming import LEARNER, LESSON, ROLE, SHORT_NAME, docker_name, lab_labels, label_filters, owned_by

#: The marker volume's short name.
MARKER = "host-links"
#: The one-shot helper cleanup starts when the lesson's host view is gone.
CLEANER = "links-cleanup"
#: The link roles and the suffix each adds to the learner's ``dn<hash>-`` stem.
ROLES = {"parent": "mv", "parent-peer": "mvp", "ipvlan-parent": "iv",
         "ipvlan-parent-peer": "ivp", "shim": "sh"}
#: Host addresses a lab macvlan network reserves (``Lab.network(aux_addresses=...)``), as
#: indexes into its subnet: the host's address on the parent, and the shim's.
RESERVED = {"host": -2, "shim": -3}
#: What a veth or macvlan link in the host's namespace may be called: IFNAMSIZ - 1.
MAX_NAME = 15
ROUTE_COLUMNS = ["container", "address", "host route via", "host source", "host ping"]


# -- pure ---------------------------------------------------------------------------------------


def link_names(learner: str, lesson: str) -> dict[str, str]:
    """The names of a learner's lab links for a lesson: the same on every call, at most 15
    characters, and different for every learner and lesson.

    >>> names = link_names("h8a", "08-macvlan-ipvlan")
    >>> sorted(names), {len(name) <= MAX_NAME for name in names.values()}
    (['ipvlan-parent', 'ipvlan-parent-peer', 'parent', 'parent-peer', 'shim'], {True})
    >>> names["parent"] != link_names("h8b", "08-macvlan-ipvlan")["parent"]
    True
    """
    stem = "dn" + hashlib.sha256(f"{learner}/{lesson}".encode()).hexdigest()[:8]
    return {role: f"{stem}-{suffix}" for role, suffix in ROLES.items()}


def link_alias(learner: str, lesson: str) -> str:
    """The alias every lab link carries: whose it is.

    >>> link_alias("h8a", "08-macvlan-ipvlan")
    'dockernet h8a 08-macvlan-ipvlan'
    """
    return f"dockernet {learner} {lesson}"


def tagged(links: list[dict], alias: str) -> list[dict]:
    """The links of ``ip -j -d link show`` that carry exactly ``alias``, as table rows.

    >>> links = [{"ifname": "eth0"}, {"ifname": "dn1234abcd-mv", "ifalias": "dockernet a 08",
    ...           "operstate": "UP", "address": "aa:bb:cc:00:00:01",
    ...           "linkinfo": {"info_kind": "veth"}},
    ...          {"ifname": "dn1234abcd-sh", "ifalias": "dockernet ab 08"}]
    >>> [(row["name"], row["kind"]) for row in tagged(links, "dockernet a 08")]
    [('dn1234abcd-mv', 'veth')]
    """
    return [{"name": link["ifname"], "kind": (link.get("linkinfo") or {}).get("info_kind"),
             "mac": link.get("address"), "state": link.get("operstate"),
             "parent": link.get("link")}
            for link in links if link.get("ifalias") == alias]


def route_via(routes: list[dict]) -> dict:
    """The interface and source address of ``ip -j route get ADDRESS``'s answer.

    >>> route_via([{"dst": "10.200.3.2", "dev": "dn1234abcd-sh", "prefsrc": "10.200.3.253"}])
    {'dev': 'dn1234abcd-sh', 'src': '10.200.3.253', 'gateway': None}
    """
    first = routes[0] if routes else {}
    return {"dev": first.get("dev"), "src": first.get("prefsrc"), "gateway": first.get("gateway")}


def reserved_address(network_attrs: dict, name: str) -> str:
    """The address the network's IPAM reserved under ``name`` (``--aux-address``).

    >>> reserved_address({"IPAM": {"Config": [{"Subnet": "10.200.3.0/24",
    ...     "AuxiliaryAddresses": {"host": "10.200.3.254"}}]}}, "host")
    '10.200.3.254'
    """
    for config in (network_attrs.get("IPAM") or {}).get("Config") or []:
        found = (config.get("AuxiliaryAddresses") or {}).get(name)
        if found:
            return found
    raise LabError(f"the network reserves no address called {name!r}: create it with "
                   "aux_addresses=hostlinks.RESERVED.")


def ipvlan_plan(works: bool | None, why: str = "") -> tuple[bool, str]:
    """Whether lesson 08 builds its ipvlan network here, and if not, why not.

    Args:
        works: the doctor's ipvlan answer (:attr:`dockernet.capabilities.HostReport.ipvlan`).
        why: its note (``HostReport.link_notes["ipvlan"]``).

    >>> ipvlan_plan(True)
    (True, '')
    >>> ipvlan_plan(False, "kernel module missing")[1]
    "the kernel has no ipvlan module (the doctor's probe: kernel module missing)"
    >>> ipvlan_plan(None, "parent busy")[0]
    False
    """
    if works:
        return True, ""
    if works is False:
        return False, f"the kernel has no ipvlan module (the doctor's probe: {why or 'refused'})"
    return False, f"the doctor could not tell whether ipvlan works here ({why or 'not checked'})"


# -- on the host -----------------------------------------------------------------------------


def _marker(lab):
    """Get or create this lesson's marker volume (before any link exists)."""
    labels = lab_labels(lab.learner, lab.lesson, lab.session, MARKER)
    labels[ROLE] = "tool"
    marker = lab.client.volumes.create(docker_name(lab.learner, lab.lesson, MARKER), labels=labels)
    found = marker.attrs.get("Labels") or {}
    if not owned_by(found, lab.learner, lab.lesson) or found.get(SHORT_NAME) != MARKER:
        raise LabError(f"a volume named {marker.name} exists that the lab did not create; the lab "
                       "makes no link. Remove it yourself, or set DOCKERNET_LEARNER to another id.")
    return marker


def _host(lab, script: str, what: str) -> probe.ProbeResult:
    result = hostview.host_exec(lab, script, timeout=10)
    if not result.ok:
        raise LabError(f"{what} failed on the Docker host (exit {result.exit_code}): "
                       f"{result.output[:300]}")
    return result


def lab_links(lab) -> list[dict]:
    """This lesson's own links on the host (name, kind, MAC, state, parent)."""
    links = hostview._host_json(lab, ["ip", "-j", "-d", "link", "show"], "the links")
    return tagged(links, link_alias(lab.learner, lab.lesson))


def links_frame(lab) -> pd.DataFrame:
    """:func:`lab_links` as a table."""
    return pd.DataFrame(lab_links(lab), columns=["name", "kind", "mac", "state", "parent"])


def _claim(lab, name: str) -> bool:
    """True if ``name`` exists and is this lesson's; False if it does not exist.

    Raises:
        LabError: a link of that name exists that the lab did not make (it is left alone).
    """
    result = hostview.host_exec(lab, ["ip", "-j", "-d", "link", "show", "dev", name])
    if not result.ok:
        return False
    alias = (probe.parse_json(result) or [{}])[0].get("ifalias")
    if alias != link_alias(lab.learner, lab.lesson):
        raise LabError(f"the host has a link {name} that the lab did not make (alias {alias!r}); "
                       "the lab leaves it alone. Set DOCKERNET_LEARNER to another id.")
    return True


def parent(lab, kind: str = "macvlan") -> str:
    """Get or make the learner's lab parent: one end of a veth pair in the host's namespace.

    Args:
        kind (str): ``"macvlan"`` or ``"ipvlan"``: each gets a parent of its own (a parent
            that carries macvlan links is busy for ipvlan).

    Returns:
        str: the parent's name, for ``options={"parent": ...}``.
    """
    if kind not in ("macvlan", "ipvlan"):
        raise LabError(f"kind {kind!r}: the lab makes parents for 'macvlan' or 'ipvlan' only.")
    names = link_names(lab.learner, lab.lesson)
    role = "parent" if kind == "macvlan" else "ipvlan-parent"
    name, peer = names[role], names[f"{role}-peer"]
    _marker(lab)  # first the marker, so that cleanup always knows to look
    if not _claim(lab, name):
        alias = link_alias(lab.learner, lab.lesson)
        _host(lab, f"ip link add {name} type veth peer name {peer} && "
                   f"ip link set {name} alias '{alias}' && ip link set {peer} alias '{alias}' && "
                   f"ip link set {peer} up && ip link set {name} up", f"making the veth pair {name}")
    return name


def _addresses(lab, network: str) -> tuple[object, dict]:
    attrs = lab.get_network(network).attrs
    subnet = ipaddress.ip_network(attrs["IPAM"]["Config"][0]["Subnet"])
    return subnet, attrs


def host_address(lab, network: str) -> str:
    """Give the host its reserved ``host`` address on the network's parent (idempotent).

    The prefix makes the kernel route the whole subnet through the parent, so what the
    host sends to the containers' addresses stays on the lab's veth pair.

    Returns:
        str: ``ADDRESS/PREFIX``.
    """
    subnet, attrs = _addresses(lab, network)
    own = parent_of(lab, network)
    address = f"{reserved_address(attrs, 'host')}/{subnet.prefixlen}"
    _host(lab, f"ip addr replace {address} dev {own}", f"adding {address} to {own}")
    return address


def parent_of(lab, network: str) -> str:
    """The network's parent, checked to be one of this lesson's lab links."""
    name = (lab.get_network(network).attrs.get("Options") or {}).get("parent")
    if name not in link_names(lab.learner, lab.lesson).values() or not _claim(lab, name):
        raise LabError(f"network {network!r} does not hang off a lab parent ({name!r}): the lab "
                       "adds addresses and routes on its own links only. Create it with "
                       "options={'parent': hostlinks.parent(lab)}.")
    return name


def shim(lab, network: str, containers) -> pd.DataFrame:
    """Give the host a macvlan link of its own (bridge mode) on the network's parent, with the
    reserved ``shim`` address and a ``/32`` route through it to each container.

    Returns:
        pandas.DataFrame: the host's routes to those containers afterwards (:func:`routes`).
    """
    _, attrs = _addresses(lab, network)
    own, name = parent_of(lab, network), link_names(lab.learner, lab.lesson)["shim"]
    address = reserved_address(attrs, "shim")
    targets = [lab.ip(container, network) for container in containers]
    if not _claim(lab, name):
        alias = link_alias(lab.learner, lab.lesson)
        _host(lab, f"ip link add {name} link {own} type macvlan mode bridge && "
                   f"ip link set {name} alias '{alias}'", f"making the shim {name}")
    steps = [f"ip addr replace {address}/32 dev {name}", f"ip link set {name} up",
             *(f"ip route replace {target}/32 dev {name}" for target in targets)]
    _host(lab, " && ".join(steps), f"configuring the shim {name}")
    return routes(lab, containers, network)


def routes(lab, containers, network: str) -> pd.DataFrame:
    """The host's route to each container's address on ``network`` (``ip route get``)."""
    rows = []
    for container in containers:
        address = lab.ip(container, network)
        via = route_via(hostview.host_routes(lab, address))
        rows.append({"container": container, "address": address,
                     "host route via": via["dev"], "host source": via["src"]})
    return pd.DataFrame(rows, columns=ROUTE_COLUMNS[:-1])


def host_reach(lab, containers, network: str) -> pd.DataFrame:
    """Can the host ping its macvlan containers? The route is read first, and the ping is sent
    only when it leaves through one of this lesson's links.

    Returns:
        pandas.DataFrame: :data:`ROUTE_COLUMNS`, ``host ping`` True or False.

    Raises:
        LabError: a route leaves by another interface (nothing is sent).
    """
    table = routes(lab, containers, network)
    own = {row["name"] for row in lab_links(lab)}
    astray = table[~table["host route via"].isin(own)]
    if not astray.empty:
        raise LabError("the host's route to " + ", ".join(astray["address"]) + " leaves by "
                       + ", ".join(map(str, astray["host route via"])) + ", not a lab link: "
                       "the lab sends nothing there. Run hostlinks.host_address(lab, network).")
    view = hostview.host_view(lab)
    table["host ping"] = [probe.ping(view, address, timeout=1).ok for address in table["address"]]
    return table


def link_table(lab, containers, network: str) -> pd.DataFrame:
    """Each container's interface on ``network`` (kind, MAC, address), and the network's parent.

    Returns:
        pandas.DataFrame: ``who``, ``interface``, ``kind``, ``MAC``, ``address``.
    """
    rows = []
    for container in containers:
        address = lab.ip(container, network)
        links = probe.read_json(lab.get_container(container), ["ip", "-j", "-d", "addr", "show"],
                                what=f"{container}'s interfaces")
        link = next(link for link in links if any(a.get("local") == address
                                                   for a in link.get("addr_info") or []))
        rows.append({"who": container, "interface": link["ifname"],
                     "kind": (link.get("linkinfo") or {}).get("info_kind"),
                     "MAC": link.get("address"), "address": address})
    own = parent_of(lab, network)
    host = next(row for row in lab_links(lab) if row["name"] == own)
    rows.append({"who": "the host (the parent)", "interface": own, "kind": host["kind"],
                 "MAC": host["mac"], "address": ""})
    return pd.DataFrame(rows, columns=["who", "interface", "kind", "MAC", "address"])


def ipvlan_network(lab, name: str, works: bool | None, why: str = ""):
    """An ipvlan L2 network on a lab parent of its own, where the kernel has ipvlan.

    Args:
        works, why: the doctor's answer for ipvlan (see :func:`ipvlan_plan`).

    Raises:
        LabError: the kernel has no ipvlan (nothing is made).
    """
    build, reason = ipvlan_plan(works, why)
    if not build:
        raise LabError(f"no ipvlan network here: {reason}. On a kernel with the module "
                       "(`modprobe ipvlan`), this cell builds it.")
    return lab.network(name, driver="ipvlan", gateway=None, aux_addresses=RESERVED,
                       options={"parent": parent(lab, "ipvlan"), "ipvlan_mode": "l2"})


# -- cleanup ------------------------------------------------------------------------------------


def _find_markers(client, learner: str | None, lesson: str | None) -> list[dict]:
    filters = {"label": [*label_filters(learner, lesson), f"{SHORT_NAME}={MARKER}"]}
    found = client.api.volumes(filters=filters).get("Volumes") or []
    return [v for v in found if owned_by(v.get("Labels"), learner, lesson)]


def _runner(client, learner: str, lesson: str):
    """The lesson's running host view, or a one-shot helper like it."""
    return hostview.cleanup_runner(client, learner, lesson, CLEANER)


def _read(runner, alias: str) -> list[dict]:
    links = probe.read_json(runner, ["ip", "-j", "-d", "link", "show"], what="the host's links")
    return tagged(links, alias)


def remove_marked(client, learner: str | None = None, lesson: str | None = None) -> list[str]:
    """Delete the links the lab made for ``learner`` and ``lesson`` (``None``: all), found
    through their markers and their alias; the markers stay for the volume cleanup.

    The shim goes first, then the parents (deleting one end of a veth pair deletes both).

    Returns:
        list of str: the links deleted.

    Raises:
        CleanupIncomplete: a link with the lab's alias is still there afterwards, or the
            host could not be read (the markers stay, so the next cleanup tries again).
    """
    removed = []
    for marker in _find_markers(client, learner, lesson):
        who, which = marker["Labels"][LEARNER], marker["Labels"][LESSON]
        alias = link_alias(who, which)
        try:
            runner = _runner(client, who, which)
            ours = sorted(_read(runner, alias), key=lambda row: row["kind"] == "veth")
            for row in ours:
                if probe.run(runner, ["ip", "link", "del", "dev", row["name"]]).ok:
                    removed.append(row["name"])
            left = [row["name"] for row in _read(runner, alias)]
        except (docker.errors.DockerException, LabError) as exc:
            raise CleanupIncomplete(f"could not read or remove the host links of {who}/{which} "
                                    f"({exc}); they stay on the host. Make sure the lab image is "
                                    "present (`python -m dockernet image`) and run the cleanup "
                                    "again.") from None
        if left:
            raise CleanupIncomplete(f"these host links of {who}/{which} are still there: "
                                    f"{', '.join(left)}. Delete them with `sudo ip link del "
                                    "NAME`, then run the cleanup again.")
    return removed
