"""Self-checks and claims for lesson 11 (isolation and filtering).

As in :mod:`dockernet.checks.lesson03`: the claims check what a section says, on whatever
engine runs it, return what they were given or a small table of what they saw, and raise
:class:`~dockernet.ExpectationFailed` when the engine disagrees. Where engines differ (the
embedded DNS before and after CVE-2024-29018, an nftables backend without
``DOCKER-USER``), the claim reads the engine first and expects what *this* engine does.
The exercises' self-checks return a :class:`~dockernet.checks.CheckResult` whose hint
never gives the answer away.

>>> from dockernet.checks import lesson11
>>> lesson11.why_not_by_ip(lab, "x").hint
"`why` is 'x': set it to one letter, a, b, c or d."
>>> lesson11.both_prediction(lab, None).hint.startswith("Store your two guesses")
True
"""

from __future__ import annotations

import pandas as pd

from .. import isolation, published
from ..errors import ExpectationFailed, LabError
from ..probe import ProbeResult
from . import CheckResult, choice, container_or_none, fail, verdict

#: Section 1-2: the internal network, its container, the ordinary network and its container.
VAULT_NET, VAULT, OPEN_NET, OPEN = "vault-net", "vault", "open-net", "open"
#: Section 2: the lab's upstream DNS server (in the outside world's namespace), the one on
#: the internal network, and the names each container asks for.
OUTSIDE_DNS, INSIDE_DNS = "outside-dns", "inside-dns"
OPEN_NAME, SECRET_NAME = f"www.{isolation.ZONE}", f"secret.{isolation.ZONE}"
#: Section 3: the network with ICC off and its two neighbours.
QUIET, NEIGHBOURS = "quiet", ("n1", "n2")
#: Section 4: the tiers, and the pairs that must (not) reach each other by name.
TIERS = ("web", "api", "db")
MUST_REACH = (("web", "api"), ("api", "web"), ("api", "db"), ("db", "api"))
MUST_NOT = (("web", "db"), ("db", "web"))
#: Exercise 1 and 2.
CACHE, BOTH = "cache", "both"
BOTH_KEYS = ("reaches the outside", "resolves outside names")
WHY_RIGHT = "b"
WHY_HINTS = {
    "a": "db's server listens on 0.0.0.0 (lab.exec('db', 'ss -Htln')): it would answer anyone "
         "whose packets arrive. Do they arrive?",
    "c": "A name is only a way to find an address; section 4 tried the address itself too. "
         "What did web's packets have to cross to reach it?",
    "d": "ICC is on for both networks (lab.get_network('back').attrs['Options']); ICC is "
         "about containers of one bridge. Are web and db on one bridge?",
}


def _version(lab) -> str:
    return lab.client.version().get("Version", "")


def _failed(result: ProbeResult) -> bool:
    try:
        result.expect_failure()
    except ExpectationFailed:
        return False
    return True


# -- section 1: internal networks ------------------------------------------------------------


def no_way_out(lab, result: ProbeResult, container: str = VAULT) -> pd.DataFrame:
    """Section 1: ``container`` (internal networks only) has a default route before Docker 25.0
    and none from 25.0, and its curl to the outside world failed either way."""
    route = lab.exec(container, "ip -4 route show default").expect_success().stdout
    version = _version(lab)
    if bool(route) != isolation.internal_default_route(version):
        fail(f"Docker {version}: {container} (internal networks only) has "
             f"{'the default route ' + repr(route) if route else 'no default route'}, which is "
             "not what this engine version does (a route before 25.0, none from 25.0)")
    if not _failed(result):
        fail(f"{container} reached the outside world from an internal network: {result.output!r}")
    return pd.DataFrame([{"engine": version, "default route": route or "(none)",
                          "curl to the outside world": (result.output.splitlines() or [""])[-1]}])


def internal_guarded(frame: pd.DataFrame) -> pd.DataFrame:
    """Section 1: the engine wrote rules that drop what leaves or enters the internal bridge."""
    if not frame.attrs.get("isolated") or not all(frame.attrs["isolated"].values()):
        fail(f"no rule drops traffic across the internal network's bridge here:\n{frame}")
    return frame


# -- section 2: DNS ----------------------------------------------------------------------------


def names_stay_inside(lab, world, opened: ProbeResult, sealed: ProbeResult) -> pd.DataFrame:
    """Section 2: ``open`` resolved the outside name through the embedded DNS, ``vault`` could
    not, and the lab's upstream never received ``vault``'s name.

    Returns:
        pandas.DataFrame: the queries the upstream received.
    """
    opened.expect_success(contains=world.address)
    if sealed.ok:
        fail(f"{VAULT} resolved {SECRET_NAME} from an internal network: {sealed.output!r}")
    seen = isolation.queries_seen(lab, OUTSIDE_DNS)
    if OPEN_NAME not in set(seen["name"]):
        fail(f"the lab's upstream DNS never saw {OPEN_NAME}, though {OPEN} resolved it:\n{seen}")
    if SECRET_NAME in set(seen["name"]):
        fail(f"{SECRET_NAME} reached the upstream DNS server from the internal network:\n{seen}")
    return seen


def on_net_dns_as_this_engine_does(lab, result: ProbeResult) -> pd.DataFrame:
    """Section 2: a DNS server *on* the internal network answers through the embedded DNS
    before the fix and from 26.1.3 on, and not in 23.0.11, 25.0.5 to 26.1.2."""
    facts = isolation.dns_forwarding(_version(lab))
    expected = facts["forwards to a DNS server on the internal network"]
    if expected is None:
        fail(f"cannot tell what engine {facts['engine']!r} does: its version does not parse")
    if result.ok != expected:
        fail(f"Docker {facts['engine']}: expected the on-net DNS server to "
             f"{'answer' if expected else 'stay unasked'}, but the lookup "
             f"{'worked' if result.ok else 'failed'}: {result.output[:200]!r}")
    return pd.DataFrame([facts])


# -- section 3: ICC off ------------------------------------------------------------------------


def icc_off_holds(lab, world) -> pd.DataFrame:
    """Section 3: the two neighbours on the ICC-off network cannot reach each other's server,
    and both still reach the outside world."""
    first, second = NEIGHBOURS
    rows = []
    for source, target in ((first, second), (second, first)):
        result = lab.curl(source, f"http://{lab.ip(target, QUIET)}:8000/", timeout=2)
        rows.append({"path": f"{source} → {target}", "got through": not _failed(result)})
    for source in NEIGHBOURS:
        rows.append({"path": f"{source} → outside world",
                     "got through": world.curl(source).ok})
    table = pd.DataFrame(rows)
    expected = [False, False, True, True]
    if list(table["got through"]) != expected:
        fail(f"with ICC off, neighbours should not reach each other and both should reach the "
             f"outside world:\n{table}")
    return table


def icc_rule_present(frame: pd.DataFrame) -> pd.DataFrame:
    """Section 3: the engine wrote a DROP for traffic that enters and leaves the same bridge."""
    if frame.empty:
        fail("no rule drops traffic between containers of the ICC-off network's bridge")
    return frame


# -- section 4: tiers --------------------------------------------------------------------------


def flat_open(matrix: pd.DataFrame) -> pd.DataFrame:
    """Section 4: on one flat network, everyone reaches everyone."""
    if not matrix.to_numpy().all():
        fail(f"on one flat network every pair should reach each other:\n{matrix}")
    return matrix


def tiers_hold(lab, matrix: pd.DataFrame) -> pd.DataFrame:
    """Section 4: web and api, api and db reach each other by name; web and db never do,
    and web does not reach db's address either."""
    wrong = [f"{s} → {t} should work" for s, t in MUST_REACH if not matrix.loc[s, t]]
    wrong += [f"{s} → {t} should fail" for s, t in MUST_NOT if matrix.loc[s, t]]
    if wrong:
        fail("; ".join(wrong) + f":\n{matrix}")
    by_ip = lab.curl("web", f"http://{lab.ip('db', 'back')}:8000/", timeout=2)
    if not _failed(by_ip):
        fail(f"web reached db's address {lab.ip('db', 'back')} directly: {by_ip.output!r}")
    return matrix


# -- sections 5 and 6: published ports ------------------------------------------------------


def docker_user_limits(lab, outside: ProbeResult, host: ProbeResult) -> pd.DataFrame:
    """Section 5: after the DOCKER-USER rule, the outside world is stopped and the host still
    gets the page. On an engine where the lab adds no rule (nftables), both get through."""
    host.expect_success(contains="Hello")
    if published.can_add_rules(lab):
        rules = published.lab_rules(lab)
        if rules.empty:
            fail("the lab can add a DOCKER-USER rule here, but none is there: re-run the cell "
                 "above.")
        if not _failed(outside):
            fail(f"the DOCKER-USER rule is there, but the outside world still got "
                 f"through:\n{rules}")
    else:
        outside.expect_success(contains="Hello")
    return pd.DataFrame([{"client": "outside world", "got the page": outside.ok},
                         {"client": "the host", "got the page": host.ok}])


def published_only(lab, table: pd.DataFrame) -> pd.DataFrame:
    """Section 6: only web publishes ports; api and db publish none."""
    published_by = set(table["container"])
    if "web" not in published_by or published_by & {"api", "db"}:
        fail(f"only web should publish a port here, but these do: {sorted(published_by)}")
    return table


def loopback_stays_local(lab, result: ProbeResult) -> ProbeResult:
    """Section 6: the outside world cannot reach a port published on 127.0.0.1."""
    if not _failed(result):
        fail(f"the outside world reached a port published on 127.0.0.1: {result.output!r}")
    return result


# -- exercises -----------------------------------------------------------------------------


def cache_placed(lab) -> CheckResult:
    """Exercise 1: ``cache`` serves on 8000, api reaches it by name, web neither by name nor
    by address."""
    cache = container_or_none(lab, CACHE)
    if cache is None:
        return CheckResult(False, "There is no container called cache yet: start a hello server "
                                  "with lab.hello_server.")
    networks = [lab.short_name(lab.client.networks.get(n)) for n in
                (cache.attrs["NetworkSettings"]["Networks"] or {})]
    from_api = lab.curl("api", f"http://{CACHE}:8000/", timeout=2)
    from_web = lab.curl("web", f"http://{CACHE}:8000/", timeout=2)
    addresses = [ep.get("IPAddress") for ep in
                 (cache.attrs["NetworkSettings"]["Networks"] or {}).values() if ep.get("IPAddress")]
    web_by_ip = any(not _failed(lab.curl("web", f"http://{a}:8000/", timeout=2)) for a in addresses)
    return verdict([(from_api.ok, f"api cannot reach cache by name (cache is on: "
                                  f"{', '.join(networks) or 'no network'}). Which network do api "
                                  "and cache need to share?"),
                    (not from_web.ok and not web_by_ip,
                     f"web reaches cache (cache is on: {', '.join(networks)}). Which tier must "
                     "cache stay in, so that web never gets there?")],
                   praise="api reaches cache, web does not: cache sits in the back tier")


def _both_paths(lab, world) -> dict[str, bool]:
    return {"reaches the outside": world.curl(BOTH).ok,
            "resolves outside names": lab.lookup(BOTH, f"{BOTH}.{isolation.ZONE}").ok}


def both_prediction(lab, prediction, world=None) -> CheckResult:
    """Exercise 2: the learner's two guesses for a container on the internal and the ordinary
    network at once, checked live."""
    if not isinstance(prediction, dict) or set(prediction) != set(BOTH_KEYS) \
            or not all(isinstance(value, bool) for value in prediction.values()):
        return CheckResult(False, "Store your two guesses in prediction, a dict with the keys "
                                  + " and ".join(repr(key) for key in BOTH_KEYS)
                                  + ", each True or False.")
    both = container_or_none(lab, BOTH)
    if both is None or world is None:
        return CheckResult(False, f"Start {BOTH} as the task says, and pass world= to this check.")
    on = {lab.short_name(lab.client.networks.get(n)) for n in
          (both.attrs["NetworkSettings"]["Networks"] or {})}
    if on != {VAULT_NET, OPEN_NET}:
        return CheckResult(False, f"{BOTH} should be on {VAULT_NET} and {OPEN_NET}; it is on "
                                  f"{', '.join(sorted(on)) or 'nothing'}.")
    try:
        real = _both_paths(lab, world)
    except LabError as exc:
        return CheckResult(False, f"Run the lesson's sections 1 and 2 first: {exc}")
    hints = {"reaches the outside": f"Which default route does {BOTH} get, and from which "
                                    f"network? lab.exec('{BOTH}', 'ip route')",
             "resolves outside names": "The fix for CVE-2024-29018 asks one question about the "
                                       "whole container, not about one network: which?"}
    wrong = [key for key in BOTH_KEYS if bool(prediction[key]) != real[key]]
    return verdict([(not wrong, hints[wrong[0]] if wrong else "")],
                   praise="internal limits a network, not a container that has another way out")


def why_not_by_ip(lab, why) -> CheckResult:
    """Exercise 3: ``why`` is the letter of the reason web cannot reach db even by address."""
    wrong = choice(why, WHY_HINTS, right=WHY_RIGHT, name="why")
    if wrong is not None:  # a CheckResult that did not pass is falsy: test for None
        return wrong
    return CheckResult(True, praise="web has no interface on back: its packets go to its "
                                             "own gateway, and Docker drops what crosses from one "
                                             "bridge network to another")
