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
