"""Who answers a container's DNS questions: the embedded DNS, its upstreams, a lab DNS server.

On a user-defined network a container's ``/etc/resolv.conf`` names one server, Docker's
embedded DNS at ``127.0.0.11``. It answers container and alias names itself and forwards
every other question to the **upstream** servers: the host's own (read from the host's
resolv.conf), or the ones given with ``--dns``. Since Docker 26.0 the file ends with a
comment saying which (``# ExtServers: [...]``; moby's ``libnetwork/internal/resolvconf``).
A server given with ``--dns`` is asked *from the container's own network namespace*, so
``--dns 127.0.0.1`` means the container's loopback, not the host's; the host's own
nameservers are asked from the host's namespace (``host(127.0.0.53)`` in the footer).

The upstream here is a lab container running ``dnsmasq`` from the lab image: it answers a
lab zone (:data:`ZONE`) from records the lab gives it, logs every question with the
address that asked, and forwards nothing (``--no-resolv``), so no question leaves the
machine.

>>> import dockernet as dn
>>> from dockernet import upstream
>>> lab = dn.Lab("12-addresses-dns-mtu", quiet=True)
>>> _ = lab.network("office-net")
>>> web = lab.run("intranet", network="office-net")
>>> dns = upstream.dns_server(lab, "office-net", {"wiki": lab.ip("intranet", "office-net")})
>>> laptop = upstream.client(lab, "laptop", "office-net")
>>> lab.lookup("laptop", "wiki").output.split()[:2] == [lab.ip("intranet", "office-net"), "wiki.corp.example"]
True
>>> _ = lab.cleanup()
"""

from __future__ import annotations

import re
import time

import pandas as pd

from . import engines, probe
from .errors import LabError

#: The lab zone the DNS server answers (RFC 2606 reserves ``example``: it exists nowhere).
ZONE = "corp.example"
#: The lab DNS server's container name.
DNS_SERVER = "dns"
#: The engine version whose resolv.conf first carries the ``# ExtServers:`` footer.
EXT_SERVERS_SINCE = (26, 0)
#: Seconds the DNS server may take to answer after it started.
READY_TIMEOUT_S = 20
RESOLV_COLUMNS = ["line", "value"]
QUERY_COLUMNS = ["type", "name", "from"]
_QUERY = re.compile(r"query\[(?P<type>\w+)\] (?P<name>\S+) from (?P<source>\S+)")


# -- pure --------------------------------------------------------------------------------------


def dnsmasq_command(records: dict[str, str], listen: str | None = None,
                    foreground: bool = True) -> list[str]:
    """The ``dnsmasq`` command of a lab DNS server for ``records`` (``{name: address}``).

    Names without a dot get the lab zone. Nothing is forwarded (``--no-resolv``), the
    host's files are not read (``--no-hosts``), a name without a dot is "not found" at
    once (``--domain-needed``), and every question is logged to stderr.

    Args:
        listen (str): listen on this address only (``127.0.0.1``: the container's loopback).
        foreground (bool): stay in the foreground (a container's main process).

    Raises:
        LabError: a name or address that does not look like one (nothing is started).

    >>> dnsmasq_command({"wiki": "10.9.0.3"})[-2:]
    ['--local=/corp.example/', '--host-record=wiki.corp.example,10.9.0.3']
    """
    argv = ["dnsmasq", *(["--keep-in-foreground"] if foreground else []), "--no-resolv",
            "--no-hosts", "--domain-needed", "--user=root", "--log-queries", "--log-facility=-"]
    if listen:
        argv += [f"--listen-address={listen}", "--bind-interfaces"]
    argv.append(f"--local=/{ZONE}/")
    for name, address in sorted(records.items()):
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", str(name)) or \
                not re.fullmatch(r"[0-9a-f.:]+", str(address)):
            raise LabError(f"record {name!r} -> {address!r}: give a name such as 'wiki' and an "
                           "address such as '10.9.0.3'.")
        argv.append(f"--host-record={fqdn(name)},{address}")
    return argv


def fqdn(name: str) -> str:
    """``name`` in the lab zone, unless it has a dot already.

    >>> fqdn("wiki"), fqdn("wiki.corp.example")
    ('wiki.corp.example', 'wiki.corp.example')
    """
    return name if "." in name else f"{name}.{ZONE}"


def parse_resolv_conf(text: str) -> dict:
    """The parts of a resolv.conf: nameservers, search domains, options, and Docker's footer.

    Returns:
        dict: ``nameserver``, ``search``, ``options`` (lists) and, from Docker's comments,
        ``ExtServers`` and ``Overrides`` (lists, or ``None`` when the file has no such line).

    >>> conf = parse_resolv_conf("nameserver 127.0.0.11\\nsearch corp.example\\n"
    ...     "options ndots:0\\n\\n# ExtServers: [10.9.0.2 host(127.0.0.53)]\\n# Overrides: []")
    >>> conf["nameserver"], conf["search"], conf["ExtServers"], conf["Overrides"]
    (['127.0.0.11'], ['corp.example'], ['10.9.0.2', 'host(127.0.0.53)'], [])
    >>> parse_resolv_conf("nameserver 127.0.0.11")["ExtServers"] is None
    True
    """
    parts = {"nameserver": [], "search": [], "options": [], "ExtServers": None, "Overrides": None}
    for raw in text.splitlines():
        line = raw.strip()
        footer = re.match(r"#\s*(ExtServers|Overrides):\s*\[(.*)\]", line)
        if footer:
            parts[footer.group(1)] = footer.group(2).split()
            continue
        words = line.split()
        if words and words[0] in ("nameserver", "search", "options"):
            parts[words[0]] += words[1:]
    return parts


def resolv_rows(conf: dict) -> list[dict]:
    """:func:`parse_resolv_conf`'s answer as table rows (one per line kind).

    >>> resolv_rows({"nameserver": ["127.0.0.11"], "search": [], "options": [],
    ...              "ExtServers": None, "Overrides": None})[-2]
    {'line': '# ExtServers', 'value': '(no such line)'}
    """
    rows = [{"line": key, "value": " ".join(conf[key]) or "(none)"}
            for key in ("nameserver", "search", "options")]
    rows += [{"line": f"# {key}", "value": "(no such line)" if conf[key] is None
              else " ".join(conf[key]) or "(empty)"} for key in ("ExtServers", "Overrides")]
    return rows


def has_footer(version: str | None) -> bool | None:
    """Whether this engine version writes the ``# ExtServers:`` footer (``None``: unknown).

    >>> has_footer("20.10.24+dfsg1"), has_footer("26.0.0"), has_footer("28.5.2"), has_footer("x")
    (False, True, True, None)
    """
    parsed = engines.parse_version(version)
    return None if parsed is None else parsed >= (*EXT_SERVERS_SINCE, 0)


def parse_queries(log: str) -> list[dict]:
    """The questions in a dnsmasq log: type, name and the address that asked.

    >>> parse_queries("dnsmasq: started\\ndnsmasq: query[A] wiki.corp.example from 10.9.0.4\\n"
    ...               "dnsmasq: config wiki.corp.example is 10.9.0.3")
    [{'type': 'A', 'name': 'wiki.corp.example', 'from': '10.9.0.4'}]
    """
    return [{"type": m["type"], "name": m["name"], "from": m["source"]}
            for m in _QUERY.finditer(log)]


# -- live ----------------------------------------------------------------------------------


def _wait_answering(lab, name: str, server: str, probe_name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        answer = lab.dig(name, probe_name, server=server, timeout=1)
        if answer.ok and answer.stdout:
            return
        time.sleep(0.2)
    logs = lab.get_container(name).logs(tail=5).decode(errors="replace")
    raise LabError(f"the DNS server in {name!r} did not answer within {READY_TIMEOUT_S} s. "
                   f"Its last log lines:\n{logs}")


def dns_server(lab, network: str, records: dict[str, str], name: str = DNS_SERVER):
    """Get or start the lab DNS server: dnsmasq on ``network``, answering ``records``.

    Args:
        network (str): a lab network (the clients' upstream must be reachable from them).
        records (dict): ``{name: address}``; a name without a dot is in :data:`ZONE`.

    Returns:
        docker.models.containers.Container: running and answering.
    """
    if not records:
        raise LabError("give the DNS server at least one record, e.g. {'wiki': '10.9.0.3'}.")
    container = lab.run(name, dnsmasq_command(records), network=network)
    _wait_answering(lab, name, "127.0.0.1", fqdn(next(iter(sorted(records)))))
    return container


def client(lab, name: str, network: str, server: str = DNS_SERVER, search=(ZONE,)):
    """A container on ``network`` whose upstream DNS is the lab server (``--dns``), with
    search domains (``--dns-search``)."""
    address = lab.ip(server, network)
    return lab.run(name, network=network, dns=[address], dns_search=list(search))


def resolv_conf(lab, container) -> dict:
    """A container's ``/etc/resolv.conf``, parsed (:func:`parse_resolv_conf`)."""
    text = lab.exec(container, ["cat", "/etc/resolv.conf"]).expect_success().stdout
    return parse_resolv_conf(text)


def resolv_frame(lab, container) -> pd.DataFrame:
    """:func:`resolv_conf` as a table."""
    return pd.DataFrame(resolv_rows(resolv_conf(lab, container)), columns=RESOLV_COLUMNS)


def queries(lab, name: str = DNS_SERVER) -> pd.DataFrame:
    """The questions the lab DNS server was asked, and by which address (its log).

    Questions from its own loopback are left out: the lab's readiness check asked them.
    """
    log = lab.get_container(name).logs().decode(errors="replace")
    rows = [row for row in parse_queries(log) if row["from"] != "127.0.0.1"]
    return pd.DataFrame(rows, columns=QUERY_COLUMNS)


def loopback_resolver(lab, container, records: dict[str, str]) -> probe.ProbeResult:
    """Start dnsmasq on a container's own loopback (``127.0.0.1:53``), answering ``records``.

    Nothing changes outside the container: it is one more process in it. Idempotent: a
    resolver that already answers the first record is left as it is.

    Returns:
        ProbeResult: the resolver's answer to the first record, asked on 127.0.0.1.
    """
    first = fqdn(next(iter(sorted(records)), ""))
    answer = lab.dig(container, first, server="127.0.0.1", timeout=1)
    if answer.ok and answer.stdout:
        return answer
    lab.exec(container, dnsmasq_command(records, listen="127.0.0.1", foreground=False)
             ).expect_success()
    return lab.dig(container, first, server="127.0.0.1").expect_success()
