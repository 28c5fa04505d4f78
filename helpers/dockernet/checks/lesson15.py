"""Self-checks for lesson 15 (the troubleshooting capstone).

One check per broken set-up of :mod:`dockernet.breakages`. Each probes the live set-up
from the complaining client's side, as its team would, and says what is *still* wrong
as a symptom ("billing still cannot get http://books:8000/: curl: (28) Resolving timed
out..."), never the fix. A set-up counts as fixed when the client gets the right
server's answer, and nothing the story says must keep working broke on the way.

>>> from dockernet.checks import lesson15
>>> lesson15.symptom("shop", "http://catalog:8000/",
...                  probe.ProbeResult("shop", exit_code=6,
...                                    output="curl: (6) Could not resolve host: catalog"))
'shop still cannot get http://catalog:8000/: curl: (6) Could not resolve host: catalog'
"""

from __future__ import annotations

from .. import breakages, probe, published
from ..errors import LabError
from . import CheckResult, choice, container_or_none

#: Exit codes of a request that ran out of time (curl's own, and the in-container timeout).
TIMEOUT_EXITS = {28, probe.TIMEOUT_EXIT}
#: A control lookup slower than this means a busy daemon (an idle one answers in milliseconds).
BUSY_S = 1.0
#: Seconds a request gets on its second try, when the daemon was busy.
BUSY_TIMEOUT_S = 8
#: Probes of what must keep working get this long: they only run once the client is served.
KEEP_TIMEOUT_S = 6
EMBEDDED_DNS = "127.0.0.11"
BUILTIN = {"bridge", "host", "none"}
#: Host addresses that mean "every address of the host" in a port binding.
WILDCARDS = {"0.0.0.0", "::"}
#: Exercise 8: which set-ups can answer "Connection refused" at once.
REFUSED_RIGHT = "b"
REFUSED_HINTS = {
    "a": "ping db answered, so the name resolved. A name that does not resolve never gets "
         "as far as a connection: which error did sections 1, 2 and 5 show?",
    "c": "ping db answered, so packets do get to db's address. A dropped packet gets no "
         "answer at all, so curl can only wait: what did section 4 show on this engine?",
}


def symptom(client: str, url: str, result: probe.ProbeResult) -> str:
    """What the client still sees, in curl's own words (its last line).

    >>> symptom("app", "http://database:8000/", probe.ProbeResult("app", exit_code=28,
    ...         output="curl: (28) Resolving timed out after 2000 milliseconds"))
    'app still cannot get http://database:8000/: curl: (28) Resolving timed out after 2000 milliseconds'
    """
    last = (result.output.strip().splitlines() or [f"exit {result.exit_code}"])[-1]
    return f"{client} still cannot get {url}: {last}"


def _missing(lab, setup: breakages.Breakage) -> CheckResult | None:
    """A failed verdict when one of the set-up's containers is gone, else ``None``."""
    if not isinstance(setup, breakages.Breakage):
        return CheckResult(False, "Pass the set-up the build cell returned, e.g. "
                                  "lesson15.check(lab, shop).")
    gone = [name for name in setup.containers if container_or_none(lab, name) is None]
    if gone:
        return CheckResult(False, f"{', '.join(gone)} no longer exist(s): the {setup.name} "
                                  "set-up is incomplete. Run its build cell again, then fix it "
                                  "without removing what the story needs.")
    return None


def _answered(setup: breakages.Breakage, result: probe.ProbeResult) -> tuple[bool, str]:
    """``(True, "")`` when the client got the right server's answer, else the symptom."""
    if result.ok and setup.expected in result.output:
        return True, ""
    if result.ok:
        return False, (f"{setup.client} gets an answer from {setup.url}, but not the one it "
                       f"expects ({setup.expected!r}): {result.output[:120]!r}. Which server "
                       "answered?")
    return False, symptom(setup.client, setup.url, result)


def _busy(lab, client: str) -> bool:
    """True when the client's embedded DNS is slow to answer a name it surely knows (its own):
    a daemon kept busy by a classroom, not a broken set-up."""
    container = lab.get_container(client)
    if not any(n not in BUILTIN for n in container.attrs["NetworkSettings"]["Networks"] or {}):
        return False  # no embedded DNS to ask (the outside world's container)
    control = lab.dig(client, client, server=EMBEDDED_DNS, timeout=1)
    return not control.ok or not control.output or control.elapsed > BUSY_S


def client_attempt(lab, setup: breakages.Breakage) -> probe.ProbeResult:
    """The client's request, as the checks judge it: once with the lesson's short timeout, and
    once more with a long one when it timed out while the daemon was busy (so a fixed set-up
    on a loaded classroom host is not called broken). A broken set-up on a quiet host costs
    one short timeout and a control lookup."""
    result = setup.attempt()
    if result.ok or result.exit_code not in TIMEOUT_EXITS or not _busy(lab, setup.client):
        return result
    return setup.attempt(timeout=BUSY_TIMEOUT_S)


def _client_gets(lab, setup: breakages.Breakage, praise: str, *more) -> CheckResult:
    missing = _missing(lab, setup)
    if missing is not None:
        return missing
    try:
        got, hint = _answered(setup, client_attempt(lab, setup))
    except LabError as exc:
        return CheckResult(False, f"the set-up is broken in another way: {exc}")
    if not got:
        return CheckResult(False, hint)
    for condition, text in more:  # only once the client is served: each costs a probe
        if not condition():
            return CheckResult(False, text)
    return CheckResult(True, praise=praise)


def _reaches(lab, client: str, url: str, expected: str) -> bool:
    for _ in range(2):  # as for the ping below: a late answer right after a connect
        result = lab.curl(client, url, timeout=KEEP_TIMEOUT_S)
        if result.ok and expected in result.output:
            return True
    return False


# -- the seven set-ups -------------------------------------------------------------------


def shop_fixed(lab, setup) -> CheckResult:
    """Section 1: shop gets catalog's page by name."""
    return _client_gets(lab, setup, "shop gets catalog's page by name")


def app_fixed(lab, setup) -> CheckResult:
    """Section 2: app gets pg's page at the URL its configuration names."""
    return _client_gets(lab, setup, "app reaches pg at the name its configuration uses")


def frontend_fixed(lab, setup) -> CheckResult:
    """Section 3: frontend gets api's page by name."""
    return _client_gets(lab, setup, "frontend gets api's page over the network")


def reports_fixed(lab, setup) -> CheckResult:
    """Section 4: reports reaches the partner server, still reaches warehouse, and warehouse
    still has no way out (every network it is on is internal)."""
    def warehouse_sealed() -> bool:
        container = lab.get_container("warehouse")
        names = list(container.attrs["NetworkSettings"]["Networks"] or {})
        return bool(names) and all(lab.client.api.inspect_network(n).get("Internal")
                                   for n in names)

    return _client_gets(
        lab, setup, "reports uploads to the partner, and warehouse stays sealed",
        (lambda: _reaches_by_ping(lab, "reports", "warehouse"),
         "reports no longer reaches warehouse by name: the job needs both"),
        (warehouse_sealed, "warehouse now has a way out too: it is on a network that is not "
                           "internal, and the story says it must stay sealed"))


def _reaches_by_ping(lab, source: str, target: str) -> bool:
    # Twice at most: right after a network connect the container's DNS may answer late once.
    return any(lab.ping(source, target, timeout=KEEP_TIMEOUT_S).ok for _ in range(2))


def billing_fixed(lab, setup) -> CheckResult:
    """Section 5: billing gets ledger's page at ``books``, and audit still does."""
    return _client_gets(
        lab, setup, "billing and audit both find the books",
        (lambda: _reaches(lab, "audit", setup.url, setup.expected),
         f"billing gets the books now, but audit no longer does at {setup.url}"))


def download_fixed(lab, setup) -> CheckResult:
    """Section 6: client downloads the large page whole, within a few seconds."""
    return _client_gets(lab, setup, "the big page arrives whole, as the small one always did")


def status_fixed(lab, setup) -> CheckResult:
    """Section 7: the LAN client (the outside world) gets status's page on the host's LAN
    address, and status is not published on every address of the host."""
    def not_everywhere() -> bool:
        table = published.ports_table(lab, ["status"])
        return not set(table["host_ip"]) & WILDCARDS

    return _client_gets(
        lab, setup, "the LAN gets the status page, on the one address it needs",
        (not_everywhere, "the LAN gets the page, but so does every other network the host is "
                         "on: status answers on all the host's addresses (published.ports_table "
                         "shows where)"))


# -- exercise 8 -------------------------------------------------------------------------


def refused_means(lab, answer) -> CheckResult:
    """Exercise 8: ``answer`` is the letter of the set-ups whose symptom is "refused"."""
    wrong = choice(answer, REFUSED_HINTS, right=REFUSED_RIGHT, name="answer")
    if wrong is not None:  # a CheckResult that did not pass is falsy: test for None
        return wrong
    return CheckResult(True, praise="refused means a packet arrived and nobody listens at "
                                    "that address and port: a bind address or a published "
                                    "address")
