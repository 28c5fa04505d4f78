"""Lesson 14's paths on the real daemon: every local path is built (or says why not), the
probes return values over each, the published ports go through docker-proxy exactly when a
docker-proxy process serves them, the orderings hold or say "too noisy", and cleanup leaves
nothing. Figures are never asserted: only that values exist and the stated rule is applied."""

import dockernet as dn
import pytest
from dockernet import perf, perfpaths, perfplots, published
from dockernet.checks import lesson14
from dockernet.cleanup import lab_objects
from dockernet.errors import LabError

LESSON_ID = "94-perf-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    lab = dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)
    yield lab
    lab.cleanup()


def test_every_local_path_is_built_measured_and_judged(lab, client, learner):
    chosen = perfpaths.host_ports(lab)
    paths = [perfpaths.host_path(lab, chosen[0], chosen[1]), *perfpaths.bridge_paths(lab, chosen[2:]),
             perfpaths.macvlan_path(lab), perfpaths.overlay_path(lab),
             perfpaths.across_path(lab, None)]
    table = lesson14.paths_built(paths)
    assert table["path"].tolist()[:4] == ["host", "bridge", "published, DNAT", "published, docker-proxy"]
    assert "not prepared" in paths[-1].why_not
    proxy_running = not published.proxies(lab).empty
    assert paths[3].usable == proxy_running, paths[3].why_not

    latency = perf.measure_latency(paths, rounds=2, pings=5, trips=20)
    usable = [p for p in paths if p.usable]
    for path in usable:
        assert len(perf.values(latency, path.name, "tcp")) >= 20, path.name
        assert bool(perf.values(latency, path.name, "ping")) == bool(path.ping_target), path.name
    assert set(lesson14.latency_orderings(latency)["verdict"]) <= {
        "holds", "too noisy to judge", "not measured here"}

    throughput = perf.measure_throughput(usable[:2], rounds=1, seconds=1)
    assert set(throughput["path"]) == {"host", "bridge"} and (throughput["gbit_s"] > 0).all()
    assert lesson14.throughput_orderings(throughput)["verdict"].iloc[0] in ("holds", "too noisy to judge")
    assert perfplots.latency_figure(latency).axes and perfplots.throughput_figure(throughput).axes

    lab.cleanup()
    assert not any(lab_objects(client, learner=learner).values())


def test_a_path_without_a_server_fails_with_one_clear_error(lab):
    client = lab.run("lonely")
    path = perf.Path("nowhere", "", perf.container_runner(client), None, "127.0.0.1", 7)
    with pytest.raises(LabError, match="did not answer within 2 s"):
        perfpaths.wait_ready(path, timeout=2)


def test_the_exercise_self_check_judges_a_routed_path(lab):
    chosen = perfpaths.host_ports(lab)
    perfpaths.host_path(lab, chosen[0], chosen[1])
    _, dnat, _ = perfpaths.bridge_paths(lab, chosen[2:])
    srv = lab.ip("srv", perfpaths.NET)
    routed = perf.Path("routed", "", perf.container_runner(lab.get_container("cli-host")), srv, srv)
    assert not lesson14.routed_compared(lab, None, None, None).passed
    measured = perf.measure_latency([dnat, routed], rounds=1, pings=3, trips=20)
    judged = perf.compare(perf.values(measured, dnat.name, "tcp"), perf.values(measured, "routed", "tcp"),
                          tolerance=lesson14.LATENCY_TOLERANCE, slack=lesson14.LATENCY_SLACK_MS)
    assert lesson14.routed_compared(lab, routed, measured, judged).passed
    wrong = perf.Path("routed", "", routed.run, srv, lab.ip("cli", perfpaths.NET))
    assert "srv's own address" in lesson14.routed_compared(lab, wrong, measured, judged).hint
