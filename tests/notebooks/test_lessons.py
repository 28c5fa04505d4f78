"""Every lesson notebook, executed end to end in a fresh kernel, twice in a row.

Each run is asserted on what the lesson must show; the second run proves that
re-running from the top works (the setup cell resets the lesson's namespace).
"""

from pathlib import Path

import pytest
from dockernet.cleanup import lab_objects
from nbrun import execute, failed_checks, outputs_text

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]-*.ipynb"))

#: What each lesson's outputs must contain, produced by its live cells.
MUST_SHOW = {
    "00": ["trixie"],
    "01": ["Hello Docker!", "Could not resolve host", "MASQUERADE", "default via"],
    "02": ["Hello Docker!", "127.0.0.11", "Pool overlaps with other one on this address space",
           "Hello from db!"],
    "03": ["Hello Docker!", "DNAT: a new connection to", "port is already allocated",
           "127.0.0.1:8000", "in this host's ephemeral range", "no binding, no listener",
           "Hello from api!"],
    "04": ["Hello Docker!", "Docker: --link helloworld:db", "Cannot link to a non running container",
           "not Docker: by hand?", "Hello from the new back!"],
    "05": ["Hello from the host!", "Address already in use", "Could not connect to server",
           "Hello from web!", "host.docker.internal"],
    "06": ["Hello from app!", "Network is unreachable", "conflicting options: port publishing",
           "non running container", "Hello from web2!"],
    "07": ["status: ready", "hello through a pipe", "HELLO (answered by server)",
           "No such device or address", "Connection refused", "STILL THERE? (answered by server)"],
    "08": ["macvlan mode bridge", "AuxiliaryAddresses", "100% packet loss",
           "the host and mv4 reach each other through the shim"],
    "09": ["VXLAN id (VNI)", "docker_gwbridge", "VIP of web", "web-rr-", "IPVS in this kernel",
           "over-net's MTU, read inside client: 1450", "api answers with 2 replica addresses"],
    # Both paths (simulated hosts, or the graceful one) show these; "Hello from host-b!" only one.
    "10": ["4789/udp", "VXLAN: the overlay's own packets", "S. (SYN-ACK)", "is not usable"],
    "11": ["Hello Docker!", "www.outside.example", "CVE-2024-29018 fixed", "n1 → outside world",
           "Could not connect to server", "api reaches cache, web does not"],
    "12": ["accepted", "Hello from the intranet!", "wiki.corp.example", "65536 bytes",
           "through its own loopback", "Docker can never pick a subnet in the VPN's ranges"],
    "13": ["-13-hello-web-1", "Could not connect to server", "Healthy", "Hello from store!",
           "worker reaches db and not web."],
    "14": ["loopback: one network namespace", "spread", "the proxy is a process in the way",
           "DNAT against no NAT at all"],
    "15": ["Hello from api!", "Hello from ledger!", "Could not connect to server",
           "shop gets catalog's page by name", "warehouse stays sealed",
           "the big page arrives whole", "the LAN gets the status page"],
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_runs_twice_and_shows_what_it_claims(path, client, lab_image, learner):
    env = {"DOCKERNET_LEARNER": learner}
    for run in (1, 2):
        notebook = execute(path, env=env)
        text = outputs_text(notebook)
        assert not failed_checks(notebook), f"run {run}: self-checks failed: {failed_checks(notebook)}"
        for expected in MUST_SHOW.get(path.stem[:2], []):
            assert expected in text, f"run {run}: {path.name} never showed {expected!r}"
        left = lab_objects(client, learner=learner)
        assert not any(left.values()), f"run {run}: the cleanup cell left {left}"


def test_every_lesson_has_assertions_on_what_it_must_show():
    assert {p.stem[:2] for p in NOTEBOOKS} == set(MUST_SHOW), "add the new lesson to MUST_SHOW"
