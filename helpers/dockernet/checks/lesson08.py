"""Self-checks and claims for lesson 08 (macvlan and ipvlan).

As in :mod:`dockernet.checks.lesson01`: the claims check what a section says, on
whatever engine runs it, return what they were given (so a cell can show it) and raise
:class:`~dockernet.ExpectationFailed` when the engine disagrees; the exercises'
self-checks return a :class:`~dockernet.checks.CheckResult` whose hint never gives the
answer away. The doctor's link probes are shown here as a table (:func:`probe_frame`).

>>> from dockernet.checks import lesson08
>>> lesson08.mv4_prediction(lab, None)                  # doctest: +ELLIPSIS
CheckResult(passed=False, hint='Store your four guesses in prediction...')
"""

from __future__ import annotations

import ipaddress

import pandas as pd

from .. import engines, hostlinks
from ..capabilities import LINK_PARENTS
from ..errors import LabError
from . import CheckResult, container_or_none, fail, verdict

#: The lesson's macvlan network and containers.
LAN, NEIGHBOURS = "lan", ("mv1", "mv2")
#: The exercises' newcomer and the four paths to predict for it.
NEWCOMER = "mv4"
MV4_PATHS = ("mv1 → mv4", "host → mv4", "mv4 → host's shim address", "mv4 → host's parent address")
PROBE_COLUMNS = ["link", "works here", "why", "probe's parent"]
#: Lesson 08's ipvlan network and containers, where the kernel has ipvlan.
IPLAN, IP_NEIGHBOURS = "ip-lan", ("iv1", "iv2")


# -- the doctor's link probes ------------------------------------------------------------------


def probe_rows(readings: dict[str, bool | None], notes: dict[str, str]) -> list[dict]:
    """The doctor's link probes as table rows (see :data:`dockernet.capabilities.LINK_PROBE`).

    >>> probe_rows({"macvlan": True, "ipvlan": False, "vxlan": True},
    ...            {"ipvlan": "kernel module missing"})[1]
    {'link': 'ipvlan', 'works here': 'no', 'why': 'kernel module missing', "probe's parent": 'veth v2'}
    """
    parents = {"macvlan": "veth v0", "ipvlan": "veth v2", "vxlan": "veth v1 (its underlay)"}
    answers = {True: "yes", False: "no", None: "not known"}
    return [{"link": kind, "works here": answers[readings.get(kind)], "why": notes.get(kind, ""),
             "probe's parent": parents[kind]} for kind in LINK_PARENTS]


def probe_frame(report) -> pd.DataFrame:
    """The doctor's link probes (:class:`dockernet.capabilities.HostReport`) as a table."""
    readings = {kind: getattr(report, kind) for kind in LINK_PARENTS}
    return pd.DataFrame(probe_rows(readings, report.link_notes), columns=PROBE_COLUMNS)


# -- claims ------------------------------------------------------------------------------------


def own_macs(table: pd.DataFrame, kind: str = "macvlan") -> pd.DataFrame:
    """Section 2: each container has a ``kind`` link with a MAC of its own, not the parent's."""
    boxes = table[table["who"] != table["who"].iloc[-1]]
    if set(boxes["kind"]) != {kind}:
        fail(f"the containers' interfaces are not all {kind} links:\n{table}")
    macs = list(table["MAC"])
    if len(set(macs)) != len(macs):
        fail(f"two of these share a MAC address, which macvlan never does:\n{table}")
    return table


def gateway_as_this_engine_does(lab, network: str = LAN, container: str = "mv1") -> pd.DataFrame:
    """Section 3: a macvlan network made without ``--gateway`` has a default route through the
    subnet's first address before Docker 29.0, and none from 29.0 (moby PR #50929)."""
    attrs = lab.get_network(network).attrs
    config = (attrs["IPAM"]["Config"] or [{}])[0]
    route = lab.exec(container, "ip -4 route show default").expect_success().stdout
    version = lab.client.version()["Version"]
    since_29 = next(row["this engine"] for row in engines.changes(version)
                    if row["key"] == "macvlan-no-default-gateway")
    first = next(ipaddress.ip_network(config["Subnet"]).hosts())
    expected = None if since_29 else f"default via {first} dev"
    if (route if expected is None else not route.startswith(expected)):
        fail(f"Docker {version}: {container}'s default route is {route!r}, expected "
             f"{expected or 'none'} for a macvlan network created without --gateway")
    return pd.DataFrame([{"engine": version, "--gateway given": "no",
                          "IPAM Gateway (inspect)": config.get("Gateway") or "(none written)",
                          f"{container}'s default route": route or "(none)"}])


def host_cannot_reach(table: pd.DataFrame) -> pd.DataFrame:
    """Section 4: the host's route to each container goes through the lab parent, and no ping
    answers."""
    if table["host ping"].any() or not table["host route via"].str.endswith("-mv").all():
        fail(f"the host should route to its macvlan containers through the parent and get no "
             f"answer:\n{table}")
    return table


def host_reaches(table: pd.DataFrame) -> pd.DataFrame:
    """Section 5: with the shim, the host's route goes through it and every ping answers."""
    if not table["host ping"].all() or not table["host route via"].str.endswith("-sh").all():
        fail(f"the host should now reach every container through the shim:\n{table}")
    return table


def ipvlan_where_possible(lab, report) -> pd.DataFrame | str:
    """Section 6: where the kernel has ipvlan, build an L2 network, run two containers and
    show that they share the parent's MAC; elsewhere, say why not (the doctor's finding)."""
    build, reason = hostlinks.ipvlan_plan(report.ipvlan, report.link_notes.get("ipvlan", ""))
    if not build:
        if report.ipvlan is not False and report.macvlan:
            fail(f"the doctor could not decide about ipvlan here: {reason}")
        return f"Not built on this host: {reason}."
    hostlinks.ipvlan_network(lab, IPLAN, report.ipvlan)
    for name in IP_NEIGHBOURS:
        lab.run(name, network=IPLAN)
    lab.ping(IP_NEIGHBOURS[0], lab.ip(IP_NEIGHBOURS[1], IPLAN)).expect_success()
    table = hostlinks.link_table(lab, IP_NEIGHBOURS, IPLAN)
    if table["MAC"].nunique() != 1:
        fail(f"ipvlan L2 containers should all show the parent's MAC:\n{table}")
    return table


# -- exercises ---------------------------------------------------------------------------------


def _mv4_paths(lab) -> dict[str, bool]:
    """What really happens on the four paths of exercise 1 (sent only to lab addresses)."""
    attrs = lab.get_network(LAN).attrs
    shim, host = (hostlinks.reserved_address(attrs, name) for name in ("shim", "host"))
    reach = hostlinks.host_reach(lab, [NEWCOMER], LAN)
    return {"mv1 → mv4": lab.ping("mv1", lab.ip(NEWCOMER, LAN), timeout=1).ok,
            "host → mv4": bool(reach["host ping"].iloc[0]),
            "mv4 → host's shim address": lab.ping(NEWCOMER, shim, timeout=1).ok,
            "mv4 → host's parent address": lab.ping(NEWCOMER, host, timeout=1).ok}


def mv4_prediction(lab, prediction) -> CheckResult:
    """Exercise 1: the learner's four guesses for a newcomer on ``lan``, checked live."""
    if not isinstance(prediction, dict) or set(prediction) != set(MV4_PATHS):
        return CheckResult(False, "Store your four guesses in prediction, a dict with the keys "
                                  + ", ".join(repr(key) for key in MV4_PATHS) + ".")
    if container_or_none(lab, NEWCOMER) is None:
        return CheckResult(False, f"Start {NEWCOMER} on {LAN!r} first (lab.run), then run this.")
    try:
        real = _mv4_paths(lab)
    except LabError as exc:
        return CheckResult(False, f"Run the lesson's sections 1 to 5 first: {exc}")
    wrong = [key for key in MV4_PATHS if bool(prediction[key]) != real[key]]
    hints = {"mv1 → mv4": "Two containers on one parent in bridge mode: section 2.",
             "host → mv4": "Which route does the host use for mv4's address? Compare with "
                           "hostlinks.routes(lab, ['mv1', 'mv4'], 'lan').",
             "mv4 → host's shim address": "The request reaches the shim; which way does the "
                                          "answer go back? Look at the host's route to mv4.",
             "mv4 → host's parent address": "Where does a frame a macvlan container sends go, "
                                            "when it is not for a neighbour: section 4."}
    return verdict([(not wrong, hints[wrong[0]] if wrong else "")],
                   praise="all four as the kernel does it")


def host_reaches_mv4(lab) -> CheckResult:
    """Exercise 2: the host reaches the newcomer, and the newcomer the host's shim address."""
    if container_or_none(lab, NEWCOMER) is None:
        return CheckResult(False, f"Start {NEWCOMER} on {LAN!r} first (exercise 1).")
    try:
        table = hostlinks.host_reach(lab, [NEWCOMER], LAN)
        shim = hostlinks.reserved_address(lab.get_network(LAN).attrs, "shim")
    except LabError as exc:
        return CheckResult(False, f"Run the lesson's sections 1 to 5 first: {exc}")
    return verdict([(bool(table["host ping"].iloc[0]),
                     f"The host's route to {NEWCOMER} goes via {table['host route via'].iloc[0]}: "
                     "which link should it leave by, and which function adds such routes?"),
                    (lab.ping(NEWCOMER, shim, timeout=1).ok,
                     f"The host answers, but {NEWCOMER} cannot reach the shim's address.")],
                   praise=f"the host and {NEWCOMER} reach each other through the shim")
