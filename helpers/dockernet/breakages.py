"""Broken set-ups to troubleshoot (lesson 15): each built in the learner's lab by one call.

Every builder makes one small set-up that fails the way real ones do, and returns a
:class:`Breakage`: who complains, what they try, and the containers and networks
involved. :meth:`Breakage.attempt` runs the complaining client's own request, so the
learner sees the symptom first; the self-checks in :mod:`dockernet.checks.lesson15`
probe the same request again after the learner's fix.

A builder always builds the *broken* set-up: re-running it removes that set-up's
containers (never another set-up's, never the shared outside world) and starts them
again, so a learner can break it afresh and retry. Networks are get-or-create, so a
network the learner re-made with other options is replaced by the broken one again.

=========================  ============================================================
builder                    what is wrong
=========================  ============================================================
:func:`wrong_network`      client and server share no network
:func:`missing_alias`      the client asks for a name no container has
:func:`loopback_bind`      the server listens on 127.0.0.1 inside its container
:func:`internal_egress`    the only network is ``internal``: no way out
:func:`alias_elsewhere`    the name is an alias on one network, asked on another
:func:`mtu_mismatch`       a narrow hop drops big packets (lesson 12's :mod:`~dockernet.mtu`)
:func:`wrong_publish`      a port published on 127.0.0.1 while a LAN client needs it
=========================  ============================================================

Every probe is bounded (curl's ``--connect-timeout`` of :data:`TIMEOUT_S`); only the
lab's own containers and its outside world (:mod:`dockernet.outside`) are ever asked.

>>> from dockernet import breakages
>>> shop = breakages.wrong_network(lab)
>>> shop.client, shop.url, shop.networks
('shop', 'http://catalog:8000/', ('shop-net', 'catalog-net'))
>>> shop.attempt().ok         # curl: (6) Could not resolve host, or (28) Resolving timed out
False
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from . import mtu, outside, ports, probe
from .errors import UnknownObject

#: Seconds curl waits for a connection in every attempt: a dropped packet fails within it.
TIMEOUT_S = 2
PORT = 8000
#: What a hello server always says: enough where the learner may re-create the server (with
#: its own message) and only that server can answer at the address asked.
ANY_HELLO = "Hello"


@dataclass
class Breakage:
    """One broken set-up: who complains, what they try, and the objects involved.

    Attributes:
        name (str): the set-up's name (the builder's).
        client (str): the container whose request fails (the one that "complains").
        url (str): what it asks for.
        containers (tuple): the set-up's containers (the learner's names).
        networks (tuple): the set-up's networks.
        expected (str): what a right answer contains.
        world (OutsideWorld): the outside world, for the set-ups that use it.
        port (int): the host port, for the published one.
    """

    name: str
    client: str
    url: str
    containers: tuple
    networks: tuple
    expected: str
    world: outside.OutsideWorld | None = field(default=None, repr=False)
    port: int | None = None
    lab: object = field(default=None, repr=False)
    _attempt: Callable[[float], probe.ProbeResult] | None = field(default=None, repr=False)

    def attempt(self, timeout: float = TIMEOUT_S) -> probe.ProbeResult:
        """The client's own request, once, bounded in time: the symptom, or the proof of a fix.

        Args:
            timeout (float): seconds curl waits for the connection (the name lookup
                included; for the MTU set-up, for the whole download).

        Returns:
            ProbeResult: curl's output (what it got, or its error message).
        """
        if self._attempt is not None:
            return self._attempt(timeout)
        return self.lab.curl(self.client, self.url, timeout=timeout)

    def frame(self) -> pd.DataFrame:
        """The set-up as a one-row table: client, request, containers, networks."""
        return pd.DataFrame([{"set-up": self.name, "client": self.client, "asks for": self.url,
                              "containers": ", ".join(self.containers),
                              "networks": ", ".join(self.networks)}])

    def _repr_html_(self) -> str:
        return self.frame().to_html(index=False)


def _fresh(lab, *names: str) -> None:
    """Remove the set-up's own containers if they exist, so the builder starts it broken."""
    for name in names:
        try:
            container = lab.get_container(name)
        except UnknownObject:
            continue
        lab.client.api.remove_container(container.id, force=True)


def _hello(name: str) -> str:
    return f"Hello from {name}!"


# -- the seven set-ups ----------------------------------------------------------------------


def wrong_network(lab) -> Breakage:
    """``shop`` asks for ``http://catalog:8000/``; the two share no network.

    Like ``docker network create shop-net``, ``... catalog-net``, a hello server ``catalog``
    on ``catalog-net`` and ``shop`` on ``shop-net``.
    """
    _fresh(lab, "shop", "catalog")
    lab.network("shop-net"), lab.network("catalog-net")
    lab.hello_server("catalog", network="catalog-net", message=_hello("catalog"))
    lab.run("shop", network="shop-net")
    return Breakage("wrong network", "shop", f"http://catalog:{PORT}/", ("shop", "catalog"),
                    ("shop-net", "catalog-net"), _hello("catalog"), lab=lab)


def missing_alias(lab) -> Breakage:
    """``app`` is configured for ``http://database:8000/`` (``DB_URL``); the server is ``pg``.

    The database container was renamed (``database`` to ``pg``) and nobody told the
    app: no container or alias on ``data-net`` answers to ``database``.
    """
    _fresh(lab, "app", "pg")
    lab.network("data-net")
    lab.hello_server("pg", network="data-net", message=_hello("pg"))
    url = f"http://database:{PORT}/"
    lab.run("app", network="data-net", environment={"DB_URL": url})
    return Breakage("missing alias", "app", url, ("app", "pg"), ("data-net",), _hello("pg"),
                    lab=lab)


def loopback_bind(lab) -> Breakage:
    """``frontend`` asks for ``http://api:8000/``; ``api`` listens on 127.0.0.1 only.

    Inside ``api`` itself ``curl localhost:8000`` works, which is why "it works on my
    container".
    """
    _fresh(lab, "frontend", "api")
    lab.network("api-net")
    lab.hello_server("api", network="api-net", bind="127.0.0.1", message=_hello("api"))
    lab.run("frontend", network="api-net")
    return Breakage("server bound to 127.0.0.1", "frontend", f"http://api:{PORT}/",
                    ("frontend", "api"), ("api-net",), ANY_HELLO, lab=lab)


def internal_egress(lab) -> Breakage:
    """``reports`` must upload to a partner's server (the lab's outside world) and cannot:
    its only network, ``jobs-net``, is ``internal``. ``warehouse`` shares ``jobs-net`` and
    must stay sealed.

    The "partner" is :func:`dockernet.outside.outside_world`, a server on a link of the
    lab's own: nothing leaves the machine.
    """
    world = outside.outside_world(lab)
    _fresh(lab, "reports", "warehouse")
    lab.network("jobs-net", internal=True)
    lab.run("warehouse", network="jobs-net")
    lab.run("reports", network="jobs-net")
    return Breakage("internal network", "reports", world.url, ("reports", "warehouse"),
                    ("jobs-net",), world.host_address, world=world, lab=lab,
                    _attempt=lambda timeout: world.curl("reports", timeout=timeout))


def alias_elsewhere(lab) -> Breakage:
    """``billing`` asks for ``http://books:8000/``; ``books`` is ``ledger``'s alias on
    ``ledger-net`` only, and billing shares ``billing-net`` with ledger. ``audit``, on
    ``ledger-net``, finds ``books`` fine.
    """
    _fresh(lab, "ledger", "audit", "billing")
    lab.network("ledger-net"), lab.network("billing-net")
    lab.hello_server("ledger", network="ledger-net", aliases=["books"],
                     message=_hello("ledger"))
    lab.connect("ledger", "billing-net")
    lab.run("audit", network="ledger-net")
    lab.run("billing", network="billing-net")
    # The story needs audit to find books. Seen once on a busy Docker 28.5: NXDOMAIN for books
    # right after ledger joined its second network. Hand the set-up over only once the working
    # half works (bounded), so a learner never diagnoses a half-built state.
    deadline = time.monotonic() + 10
    while not lab.lookup("audit", "books").ok and time.monotonic() < deadline:
        time.sleep(0.3)
    return Breakage("name on another network", "billing", f"http://books:{PORT}/",
                    ("billing", "ledger", "audit"), ("ledger-net", "billing-net"),
                    _hello("ledger"), lab=lab)


def mtu_mismatch(lab) -> Breakage:
    """``client`` downloads ``web``'s big page through ``router``; the router's narrow leg
    drops full-size packets and the ICMP that would say so (lesson 12's path,
    :func:`dockernet.mtu.build`). Small answers still work.
    """
    mtu.build(lab)
    url = f"http://{lab.ip(mtu.NAMES['router'], mtu.NAMES['inner'])}:{mtu.PORT}/large"
    return Breakage("MTU mismatch", mtu.NAMES["client"], url,
                    tuple(mtu.NAMES[n] for n in ("client", "router", "web")),
                    (mtu.NAMES["inner"], mtu.NAMES["uplink"]), f"{mtu.SIZES['large']} bytes",
                    lab=lab,
                    _attempt=lambda timeout: mtu.fetch(lab, "large", timeout=timeout))


def wrong_publish(lab) -> Breakage:
    """A LAN client (the outside world's container, ``outside``) opens ``status``'s page on
    the host's LAN address; ``status`` is published on ``127.0.0.1`` only.

    Like ``docker run -d --name status --network ops-net -p 127.0.0.1:<port>:8000 ...``:
    on the host itself ``curl 127.0.0.1:<port>`` works.
    """
    world = outside.outside_world(lab)
    _fresh(lab, "status")
    port = ports.host_port(lab)
    lab.network("ops-net")
    lab.hello_server("status", network="ops-net", ports={f"{PORT}/tcp": port},
                     message=_hello("status"))
    client = lab.short_name(world.container)
    return Breakage("port on the wrong address", client, f"http://{world.host_address}:{port}/",
                    ("status", client), ("ops-net",), ANY_HELLO, world=world,
                    port=port, lab=lab)


#: Every builder, in the lesson's order.
BUILDERS = (wrong_network, missing_alias, loopback_bind, internal_egress, alias_elsewhere,
            mtu_mismatch, wrong_publish)
