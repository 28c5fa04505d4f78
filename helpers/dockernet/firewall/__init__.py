"""The engine's firewall: which backend holds Docker's rules, and the rules as tables.

Docker writes its bridge rules with one of three tools, and which one depends on
the engine and the host. ``iptables-legacy`` rules are invisible to the nf_tables
tools and the other way round (``nft list ruleset`` does show what ``iptables-nft``
wrote); invisible is not inactive: both sets of hooks see every packet.

==================  ===========================================  ==========================
backend             engines                                      read with
==================  ===========================================  ==========================
``iptables-nft``    every engine, on a current distribution      ``iptables-nft-save``
``iptables-legacy`` every engine, on an older distribution       ``iptables-legacy-save``
``nftables``        Docker 29+ with ``"firewall-backend":        ``nft list ruleset``
                    "nftables"`` (experimental)
==================  ===========================================  ==========================

The chains differ by engine version too (:mod:`dockernet.engines` lists them):
Docker 20.10 to 28 keep bridges apart with ``DOCKER-ISOLATION-STAGE-1/2``; 28.0
adds a DROP per bridge in the ``DOCKER`` chain (unpublished ports), 28.0.1 the
``DOCKER-FORWARD``, ``DOCKER-BRIDGE`` and ``DOCKER-CT`` chains; 29.0 drops the
isolation-stage chains (``DOCKER-INTERNAL`` guards internal networks); the nftables
backend writes the table ``ip docker-bridges`` with a chain per bridge and no
``DOCKER-USER``.

Two layers, as in :mod:`dockernet.hostview`: pure parsers and finders that turn
``iptables-save`` and ``nft list ruleset`` text into rows (unit-tested on dumps
captured from each engine, ``tests/unit/data/engines/``), and live functions that
read the host's rules through the ``host-view`` container and return DataFrames
whose ``attrs["backend"]`` names the backend. Rows of iptables have the columns
``table``, ``chain`` and ``rule`` (the rule as ``iptables -S`` prints it); rows of
nftables ``family``, ``table``, ``chain``, ``rule`` and ``comment``. A map's
elements are rows too, in a chain named like the map is referenced (``@name``).

The rules behind one published port, and the rules lesson 03 adds on purpose (and
every cleanup deletes), have modules of their own: :mod:`.portrules` (pure) and
:mod:`.labrules`; :mod:`dockernet.published` shows them.

>>> from dockernet import firewall
>>> docker0 = firewall.masquerade(lab, bridge="docker0")   # the default bridge's outbound NAT
>>> docker0.attrs["backend"] in firewall.BACKENDS, len(docker0)
(True, 1)
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import pandas as pd

from .. import hostview
from ..capabilities import FIREWALL_PROBE, firewall_from_info, firewall_from_probe
from ..errors import LabError
from .rulesets import (
    DOCKER_NFT_TABLE,
    IPTABLES_COLUMNS,
    IPTABLES_TABLES,
    NFT_COLUMNS,
    holds_docker_rules,
    isolates,
    isolation_forms,
    isolation_role,
    isolation_rules,
    masquerade_rules,
    parse_iptables_save,
    parse_nft_ruleset,
    select,
)

__all__ = [
    "BACKENDS", "DOCKER_NFT_TABLE", "FIREWALL_PROBE", "IPTABLES_COLUMNS", "IPTABLES_TABLES",
    "NFT_COLUMNS", "backend", "dump", "firewall_from_info", "firewall_from_probe",
    "holds_docker_rules", "isolates", "isolation", "isolation_forms", "isolation_rules",
    "masquerade", "masquerade_rules", "parse_iptables_save", "parse_nft_ruleset",
    "reported_backend", "rules", "select", "styled",
]

NFTABLES = "nftables"
IPTABLES_FLAVOURS = ("iptables-nft", "iptables-legacy")
BACKENDS = (*IPTABLES_FLAVOURS, NFTABLES)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


# -- live: through the host-view container ----------------------------------------------------


def reported_backend(lab) -> str | None:
    """What the engine says in ``docker info`` (Docker 28.1+), without starting anything."""
    return firewall_from_info(lab.client.info())


def backend(lab) -> tuple[str, str]:
    """The backend holding Docker's rules on the lab's host, and where that answer came from.

    ``docker info`` is believed for ``nftables``; otherwise :data:`FIREWALL_PROBE`
    looks which iptables flavour holds Docker's chains.

    Returns:
        tuple: ``(backend, source)``, e.g. ``("iptables-nft", "probe")``.

    Raises:
        LabError: no backend holds Docker's rules (an engine run with ``--iptables=false``).
    """
    reported = reported_backend(lab)
    if reported == NFTABLES:
        return NFTABLES, "docker info"
    found = firewall_from_probe(hostview.host_exec(lab, FIREWALL_PROBE).stdout, reported)
    if found not in BACKENDS:
        raise LabError("Docker's firewall rules were not found in iptables-nft, iptables-legacy "
                       "or nftables on this host: does the engine run with --iptables=false, "
                       "or rootless? Lessons that read rules explain them instead.")
    return found, "docker info + probe" if reported else "probe"


def dump(lab, backend_name: str) -> str:
    """The whole ruleset as the backend's own tool saves it (``*-save`` or ``nft list ruleset``)."""
    argv = ["nft", "list", "ruleset"] if backend_name == NFTABLES else [f"{backend_name}-save"]
    result = hostview.host_exec(lab, argv, timeout=10)
    if not result.ok:
        raise LabError(f"reading the host's rules with {argv[0]} failed (exit "
                       f"{result.exit_code}): {(result.stderr or result.output)[:300]}. Run "
                       "lab.cleanup() and try again.")
    return result.stdout


def _check_names(lab, table: str | None, chain: str | None) -> None:
    # Checked before anything starts: bad input creates nothing.
    for what, name, parts in (("table", table, 2), ("chain", chain, 1)):
        if name is not None and not (isinstance(name, str) and len(name.split(" ")) <= parts
                                     and all(_NAME.match(part) for part in name.split(" "))):
            raise LabError(f"{what} {name!r} is not a {what} name: use one like "
                           f"{'nat' if what == 'table' else 'POSTROUTING'!r}, or leave it out.")
    if table is not None and " " not in table and table not in IPTABLES_TABLES \
            and reported_backend(lab) != NFTABLES:
        raise LabError(f"table {table!r} is not an iptables table: use one of "
                       f"{', '.join(IPTABLES_TABLES)}, or leave table out.")


def _check_bridges(bridges) -> list[str]:
    bridges = [bridges] if isinstance(bridges, str) else list(bridges or [])
    for bridge in bridges:
        if not (isinstance(bridge, str) and _NAME.match(bridge) and len(bridge) <= 15):
            raise LabError(f"{bridge!r} is not a bridge interface name: use one like 'docker0' "
                           "or 'br-' and the network id's first 12 characters.")
    return bridges


def _read(lab) -> tuple[list[dict], str, str]:
    name, source = backend(lab)
    text = dump(lab, name)
    rows = parse_nft_ruleset(text) if name == NFTABLES else parse_iptables_save(text)
    if not holds_docker_rules(rows):
        raise LabError(f"the host's {name} rules hold none of Docker's chains: is the engine "
                       "run with --iptables=false?")
    return rows, name, source


def _frame(rows: list[dict], name: str, source: str, **attrs) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=NFT_COLUMNS if name == NFTABLES else IPTABLES_COLUMNS)
    frame.attrs.update(backend=name, source=source, **attrs)
    return frame


def rules(lab, table: str | None = None, chain: str | None = None) -> pd.DataFrame:
    """The host's firewall rules, as the engine's backend holds them.

    Args:
        lab (dockernet.Lab): the lesson's lab.
        table (str): only this table: ``nat``, ``filter``... (iptables), or an nftables
            table such as ``docker-bridges`` (``ip docker-bridges`` for one family).
        chain (str): only this chain, e.g. ``"POSTROUTING"``.

    Returns:
        pandas.DataFrame: iptables: ``table``, ``chain``, ``rule``; nftables: ``family``,
        ``table``, ``chain``, ``rule``, ``comment``. ``attrs["backend"]`` names the backend
        and ``attrs["source"]`` how it was found.

    Raises:
        LabError: a malformed or unknown table or chain name (the message lists the ones
            this host has), or no backend holds Docker's rules.
    """
    _check_names(lab, table, chain)
    rows, name, source = _read(lab)
    return _frame(select(rows, table, chain), name, source)


def masquerade(lab, subnet=None, bridge: str | None = None) -> pd.DataFrame:
    """The MASQUERADE rules for ``subnet`` leaving by any interface but ``bridge``
    (:func:`masquerade_rules` on the host's live rules)."""
    if subnet is not None:
        try:
            subnet = ipaddress.ip_network(subnet, strict=False)
        except (TypeError, ValueError):
            raise LabError(f"{subnet!r} is not a subnet: give one like '172.17.0.0/16', as "
                           "the network's IPAM config lists it.") from None
    if bridge is not None:
        _check_bridges([bridge])
    rows, name, source = _read(lab)
    return _frame(masquerade_rules(rows, subnet, bridge), name, source)


def isolation(lab, bridges: Iterable[str]) -> pd.DataFrame:
    """The rules that keep other networks away from each of ``bridges`` (Linux bridge names,
    e.g. ``["docker0", "br-5690f74cea53"]``).

    Returns:
        pandas.DataFrame: the rules (:func:`isolation_rules`), with ``attrs["forms"]``
        (:func:`isolation_forms`) and ``attrs["isolated"]``: ``{bridge: bool}``
        (:func:`isolates`).
    """
    bridges = _check_bridges(bridges)
    rows, name, source = _read(lab)
    found = [row for row in rows if any(isolation_role(row, b) for b in bridges)]
    return _frame(found, name, source, forms=isolation_forms(rows),
                  isolated={bridge: isolates(rows, bridge) for bridge in bridges})


def styled(frame: pd.DataFrame):
    """A rules table for a notebook, with whole rules: a DataFrame's own display cuts text
    past 50 characters, which is where a rule says what it does.

    >>> styled(pd.DataFrame([{"table": "nat", "chain": "POSTROUTING", "rule": "-P POSTROUTING ACCEPT"}])
    ...        ).to_html().count("-P POSTROUTING ACCEPT")
    1
    """
    return frame.style.hide(axis="index").set_properties(
        **{"text-align": "left", "font-family": "monospace", "white-space": "pre-wrap"})
