"""The lab image on the daemon, the offline bundle round trip, and probes' timeouts."""

import time

import dockernet as dn
import pytest
from dockernet import image, probe


def test_the_image_is_present_and_has_the_tools(client, lab_image, learner):
    assert image.find(client) is not None
    lab = dn.Lab("94-image", learner=learner, client=client, quiet=True)
    lab.run("box")
    tools = lab.exec("box", "for tool in curl ip ping dig iperf3 tcpdump nc iptables nft python3; "
                                   "do command -v $tool || exit 1; done")
    assert tools.ok and len(tools.output.splitlines()) == 10
    lab.exec("box", "python3 -c 'import http.server'").expect_success()
    lab.exec("box", "grep -q trixie /etc/os-release").expect_success()


def test_bundle_round_trip(client, lab_image, tmp_path):
    bundle = image.save_bundle(client, tmp_path / "bundle.tar.gz", progress=lambda _: None)
    assert bundle.stat().st_size > 10 * 2**20
    lines = []
    loaded = image.load_bundle(client, bundle, progress=lines.append)
    assert lab_image in [tag for img in loaded for tag in img.tags]
    with pytest.raises(dn.ImageUnavailable, match="No bundle"):
        image.load_bundle(client, tmp_path / "missing.tar.gz")


def test_ensure_reuses_a_present_image(client, lab_image):
    said = []
    assert image.ensure(client, progress=said.append).tags
    assert said == [f"lab image {lab_image} is present: reusing it"]


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab("94-probes", learner=learner, client=client, quiet=True)


def test_hello_server_and_probe_results(lab):
    lab.hello_server("web", message="custom hello")
    own = lab.curl("web", "http://127.0.0.1:8000")
    assert own.ok and own.output == "custom hello" and own.source == "web"
    assert "custom hello" in own._repr_html_() and "ok" in str(own)
    own.expect_success(contains="custom hello")
    with pytest.raises(dn.ExpectationFailed, match="expected .* to fail"):
        own.expect_failure()
    with pytest.raises(dn.ExpectationFailed, match="did not print"):
        own.expect_success(contains="something else")


def test_timeouts_are_enforced_inside_the_container(lab):
    lab.run("box")
    start = time.perf_counter()
    slow = lab.exec("box", "sleep 30", timeout=1)
    assert slow.timed_out and time.perf_counter() - start < 5
    with pytest.raises(dn.ExpectationFailed, match="expected success"):
        slow.expect_success()
    refused = lab.curl("box", "http://127.0.0.1:9", timeout=1)
    assert not refused.ok
    refused.expect_failure()


def test_ping_lookup_dig_and_reachability(lab):
    lab.network("net")
    lab.hello_server("a", network="net")
    lab.hello_server("b", network="net", aliases=["shared"])
    b_ip = lab.ip("b", "net")
    lab.ping("a", b_ip).expect_success()
    assert b_ip in lab.lookup("a", "b").expect_success().output
    assert b_ip in probe.dig(lab.get_container("a"), "shared", server="127.0.0.11").output
    lab.lookup("a", "nonexistent-name", timeout=1).expect_failure()
    matrix = lab.reachability(["a", "b"], port=8000, by="name")
    assert matrix.values.all() and list(matrix.index) == ["a", "b"]
    lab.run("loner")  # on the default bridge: isolated from the lab network
    isolated = lab.reachability(["loner"], ["a"], port=8000, network="net", timeout=1)
    assert not isolated.loc["loner", "a"]


def test_lab_dig_asks_one_dns_server_by_container_name(lab):
    lab.network("net")
    lab.run("a", network="net")
    lab.run("b", network="net", aliases=["shared"])
    asked = lab.dig("a", "shared", server="127.0.0.11").expect_success()
    assert asked.command[:2] == ["dig", "@127.0.0.11"] and asked.source == "a"
    assert asked.output.split() == [lab.ip("b", "net")]
    # Without a server: the one in a's resolv.conf, the same embedded DNS server.
    assert lab.dig("a", "b").output.split() == [lab.ip("b", "net")]
    # On the default bridge nothing answers at 127.0.0.11: the one try fails.
    lab.run("loner")
    lab.dig("loner", "b", server="127.0.0.11", timeout=1).expect_failure()
    with pytest.raises(dn.UnknownObject):
        lab.dig("nobody", "b")


def test_stdout_and_stderr_are_kept_apart(lab):
    lab.run("box")
    both = lab.exec("box", "echo out; echo err >&2; exit 3")
    assert (both.exit_code, both.stdout, both.stderr) == (3, "out", "err")
    assert both.output.splitlines() == ["out", "err"]
    with pytest.raises(dn.LabError, match=r"exit 3\): err"):
        probe.read_json(lab.get_container("box"), "echo out; echo err >&2; exit 3", what="it")


def test_read_json_survives_interfaces_coming_and_going(lab):
    # Interfaces churn in the container's own namespace (--network none): ip's dumps of it
    # are then often "interrupted" (a warning on stderr) while stdout stays whole JSON.
    box = lab.run("churn", network="none", cap_add=["NET_ADMIN"])
    lab.exec("churn", "for i in $(seq 100); do ip link add a$i type veth peer name b$i; done",
             timeout=60).expect_success()
    churn = ("while :; do for i in $(seq 20); do ip link add x$i type veth peer name y$i; "
             "done; for i in $(seq 20); do ip link del x$i; done; done")
    box.exec_run(["timeout", "40", "sh", "-c", churn], detach=True)
    warned = reads = 0
    deadline = time.monotonic() + 30  # bounded: a busy machine interrupts fewer dumps
    while time.monotonic() < deadline and (warned < 2 or reads < 10):
        plain = probe.run(box, ["ip", "-j", "-d", "addr", "show"], timeout=5)  # read once
        warned += probe.INCONSISTENT_DUMP in plain.stderr
        links = probe.read_json(box, ["ip", "-j", "-d", "addr", "show"], what="the links")
        # lo comes first in every dump; later entries may be missing from a dump that was
        # still inconsistent on the last attempt, which read_json then accepts.
        assert links[0]["ifname"] == "lo" and len(links) >= 2
        reads += 1
    assert warned, f"the churn never interrupted one of {reads} dumps: this test proved nothing"
