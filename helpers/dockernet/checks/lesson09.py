"""Self-checks and claims for lesson 09 (overlay on one host).

As in :mod:`dockernet.checks.lesson01`: the claims check what a section says, on whatever
engine runs it, return what they were given (so a cell can show it) and raise
:class:`~dockernet.ExpectationFailed` when the engine disagrees; the exercises' self-checks
return a :class:`~dockernet.checks.CheckResult` whose hint never gives the answer away.

>>> from dockernet.checks import lesson09
>>> lesson09.mtu_prediction(None, "1450")                  # doctest: +ELLIPSIS
CheckResult(passed=False, hint='Store a number (an int)...')
"""

from __future__ import annotations

import contextlib

import pandas as pd

from .. import overlay, swarm
from ..errors import LabError
from ..probe import ProbeResult
from . import CheckResult, container_or_none, fail, verdict

OVERLAY = "over-net"
#: Exercise 1: the service to build.
API, API_REPLICAS = "api", 2
#: Exercise 2: the network and container the learner makes, and the option they set.
MTU_NET, SMALL = "mtu-net", "small"
MTU_OPTION = "com.docker.network.driver.mtu"

_fail = fail


# -- claims ----------------------------------------------------------------------------------


def swarm_as_found(before: swarm.SwarmStatus, here: swarm.SwarmStatus) -> swarm.SwarmStatus:
    """Section 1: a daemon in no swarm is now in the lab's; one that was in a swarm is in the
    same one, unchanged; where swarm cannot work, the reason is said.

    >>> none = swarm.SwarmStatus(usable=True, state="inactive")
    >>> made = swarm.SwarmStatus(usable=True, state="active", manager=True, made_by_lab=True,
    ...                          swarm_id="abc", node_address="127.0.0.1")
    >>> swarm_as_found(none, made) is made
    True
    """
    if not here.usable:
        if not here.reason:
            _fail("swarm is not usable here, but no reason was given")
        return here
    if here.state != "active" or not here.manager:
        _fail(f"the daemon should now manage a swarm, but it is {here.state!r} "
              f"(manager: {here.manager})")
    if before.state == "inactive" and not here.made_by_lab:
        _fail("the daemon was in no swarm, yet the swarm now is not labelled as the lab's")
    if before.state == "active" and (here.swarm_id != before.swarm_id
                                     or here.made_by_lab != before.made_by_lab):
        _fail(f"the daemon's swarm changed: {before} became {here}")
    return here


def overlay_holds(attrs: dict) -> pd.DataFrame:
    """Section 2: the network is an attachable, swarm-scoped overlay with a VNI from Docker's
    range (4096 and up, libnetwork's ovmanager), and a subnet.

    Returns:
        pandas.DataFrame: one row: what ``docker network inspect`` says of it.
    """
    vni = swarm.overlay_vni(attrs)
    config = ((attrs.get("IPAM") or {}).get("Config") or [{}])[0]
    row = {"driver": attrs.get("Driver"), "scope": attrs.get("Scope"),
           "attachable": attrs.get("Attachable"), "subnet": config.get("Subnet"),
           "gateway": config.get("Gateway"), "VXLAN id (VNI)": vni}
    if row["driver"] != "overlay" or row["scope"] != "swarm" or not row["attachable"]:
        _fail(f"expected an attachable swarm-scoped overlay: {row}")
    if vni is None or not 4096 <= vni < 2 ** 24:
        _fail(f"the overlay's VNI should be 4096 or more (24 bits at most): {vni}")
    if not row["subnet"]:
        _fail(f"the overlay has no subnet yet: {row}")
    return pd.DataFrame([row], index=[attrs.get("Name")])


def two_interfaces(table: pd.DataFrame, network: str = OVERLAY) -> pd.DataFrame:
    """Section 3: a container on an overlay has an interface on it and one on
    ``docker_gwbridge``, which holds the default route."""
    by_network = table.set_index("Docker network")
    for needed in (network, swarm.GWBRIDGE):
        if needed not in by_network.index:
            _fail(f"no interface on {needed}:\n{table}")
    if by_network.loc[swarm.GWBRIDGE, "default route"] != "yes":
        _fail(f"the default route should go through docker_gwbridge:\n{table}")
    if by_network.loc[network, "default route"] == "yes":
        _fail(f"the overlay should carry no default route:\n{table}")
    return table


def overlay_mtu_holds(mtu_text: str, overlay_table: pd.DataFrame,
                      network: str = OVERLAY) -> pd.DataFrame:
    """Section 4: inside the container, the overlay's interface has Docker's 1500 minus the
    50 bytes of VXLAN headers, and ``docker_gwbridge``'s the plain bridge's 1500."""
    expected = overlay.OVERLAY_BASE_MTU - int(overlay.vxlan_overhead()["bytes"].sum())
    by_network = overlay_table.set_index("Docker network")
    if str(mtu_text).strip() != str(expected) or by_network.loc[network, "MTU"] != expected:
        _fail(f"the overlay's MTU should be {expected}: read {mtu_text!r}\n{overlay_table}")
    if by_network.loc[swarm.GWBRIDGE, "MTU"] != overlay.OVERLAY_BASE_MTU:
        _fail(f"docker_gwbridge's MTU should be {overlay.OVERLAY_BASE_MTU}:\n{overlay_table}")
    return overlay_table


def replicas_running(table: pd.DataFrame, replicas: int = 3) -> pd.DataFrame:
    """Section 5: every replica runs, each with an address of its own on the overlay."""
    running = table[table["state"] == "running"]
    if len(running) != replicas or running["address"].nunique() != replicas:
        _fail(f"expected {replicas} running replicas with {replicas} addresses:\n{table}")
    return table


def vip_versus_dnsrr(table: pd.DataFrame, vip: str = "web", rr: str = "web-rr") -> pd.DataFrame:
    """Section 6: a VIP service's name is one address, its VIP; ``tasks.NAME`` and a DNSRR
    service's name are the replicas' own addresses."""
    rows = table.set_index("name")
    if rows.loc[vip, "which are"] != f"VIP of {vip}":
        _fail(f"{vip} should resolve to its VIP only:\n{table}")
    for name, service in ((f"tasks.{vip}", vip), (rr, rr), (f"tasks.{rr}", rr)):
        replicas = rows.loc[name, "which are"].split(", ")
        if rows.loc[name, "addresses"] < 2 or not all(r.startswith(f"{service}-") for r in replicas):
            _fail(f"{name} should return the addresses of {service}'s replicas:\n{table}")
    return table


def vip_answers_where_ipvs(result: ProbeResult, ipvs: bool) -> ProbeResult:
    """Section 7: the VIP answers where the kernel has IPVS, and stays silent where it has not."""
    if ipvs and not (result.ok and "Hello from web-" in result.output):
        _fail(f"this kernel has IPVS, yet the VIP did not answer: {result.output[:300]!r}")
    if not ipvs and result.ok:
        _fail(f"no IPVS here, yet the VIP answered: {result.output[:300]!r}")
    return result


def spread_holds(counts: pd.DataFrame, service: str, count: int, every: bool) -> pd.DataFrame:
    """Section 7: every request got an answer from one of ``service``'s replicas; with
    ``every``, each replica answered at least once (IPVS takes turns; DNSRR's shuffle only
    makes it likely, so there two replicas are enough)."""
    answered = dict(zip(counts["replica"], counts["answers"]))
    strangers = [r for r in answered if not r.startswith(f"{service}-")]
    if strangers or sum(answered.values()) != count:
        _fail(f"{count} answers from {service}'s replicas expected: {answered}")
    if len(answered) < (3 if every else 2):
        _fail(f"the requests did not spread over the replicas: {answered}")
    return counts


# -- exercises -------------------------------------------------------------------------------


def api_service(lab) -> CheckResult:
    """Exercise 1: ``api``, 2 replicas in DNSRR mode on over-net; ``tasks.api`` from
    ``client`` returns two addresses."""
    found = overlay.find(lab, API)
    if found is None:
        return CheckResult(False, "There is no service 'api' yet: overlay.service(lab, ...) makes one.")
    spec = found.attrs["Spec"]
    mode = (spec.get("EndpointSpec") or {}).get("Mode", "vip")
    replicas = spec.get("Mode", {}).get("Replicated", {}).get("Replicas")
    networks = {n.get("Target") for n in spec["TaskTemplate"].get("Networks") or []}
    answers = set()
    if container_or_none(lab, "client") is not None:
        answers = {a for a in lab.dig("client", "api", server="127.0.0.11").stdout.split() if a}
    return verdict([
        (lab.get_network(OVERLAY).id in networks, "'api' is not on over-net."),
        (replicas == API_REPLICAS, f"'api' has {replicas} replicas; the task asks for another number."),
        (mode == "dnsrr", "From client, `api` should return the replicas' own addresses; "
                          "which endpoint mode does that?"),
        (len(answers) == API_REPLICAS, f"`api` resolved to {sorted(answers)} from client."),
    ], praise=f"api answers with {API_REPLICAS} replica addresses")


def mtu_prediction(lab, predicted) -> CheckResult:
    """Exercise 2: the learner's prediction of ``small``'s MTU on ``mtu-net`` (an overlay with
    ``com.docker.network.driver.mtu`` 1400), checked against what ``small`` reads."""
    if not isinstance(predicted, int) or isinstance(predicted, bool):
        return CheckResult(False, "Store a number (an int) in predicted_mtu, e.g. predicted_mtu = 1234.")
    small = container_or_none(lab, SMALL)
    if small is None:
        return CheckResult(False, f"Make mtu-net and run '{SMALL}' on it first (see the task).")
    try:
        net = lab.get_network(MTU_NET)
    except LabError:
        return CheckResult(False, "There is no network 'mtu-net' yet (see the task).")
    if (net.attrs.get("Options") or {}).get(MTU_OPTION) != "1400":
        return CheckResult(False, f"mtu-net should be an overlay with options={{{MTU_OPTION!r}: '1400'}}.")
    with contextlib.suppress(LabError):
        real = int(lab.exec(SMALL, "cat /sys/class/net/eth0/mtu").stdout)
        return verdict([(predicted == real, f"{SMALL}'s eth0 says otherwise. Section 4's table: "
                                            "which number does the option replace?")],
                       praise=f"{SMALL}'s overlay interface has MTU {real}")
    return CheckResult(False, f"Could not read {SMALL}'s MTU: is it running?")
