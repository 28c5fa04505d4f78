"""Unit tests of dockernet.namespaces' pure parts and lesson 06's pure claims, on output
captured from lab containers on Docker 20.10 and 28.5 (tests/unit/data/namespaces/: `ip -j
addr` and `readlink /proc/1/ns/net` in `app` on the default bridge, `loner` with
--network none and `debug` with --network container:app). Expected values are read from
the same captures, never typed in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dockernet import namespaces, probe
from dockernet.checks import lesson06
from dockernet.errors import ExpectationFailed

CAPTURES = sorted((Path(__file__).parent / "data" / "namespaces").glob("docker-*.json"))


@pytest.fixture(params=CAPTURES, ids=[p.stem for p in CAPTURES])
def capture(request):
    return json.loads(request.param.read_text())


def rows_of(capture, name):
    return namespaces.interface_rows(json.loads(capture[name]["ip_addr"]), name,
                                     namespaces.parse_namespace_link(capture[name]["netns"]))


def table_of(capture, names=("app", "loner", "debug")):
    return namespaces.interfaces_frame([row for name in names for row in rows_of(capture, name)])


def test_captures_cover_both_engines():
    assert {json.loads(p.read_text())["engine"].split(".")[0] for p in CAPTURES} >= {"20", "28"}


def test_a_none_container_has_only_loopback(capture):
    links = json.loads(capture["loner"]["ip_addr"])
    assert namespaces.only_loopback(links)
    assert not namespaces.only_loopback(json.loads(capture["app"]["ip_addr"]))
    rows = rows_of(capture, "loner")
    assert [(r["interface"], r["ipv4"], r["mac"]) for r in rows] == [("lo", "127.0.0.1/8", "")]


def test_eth0_is_named_with_its_peer_index_and_address(capture):
    links = json.loads(capture["app"]["ip_addr"])
    eth0 = next(link for link in links if link["ifname"] == "eth0")
    row = next(r for r in rows_of(capture, "app") if r["interface"].startswith("eth0"))
    assert row["interface"] == f"eth0@if{eth0['link_index']}"
    inet = [a for a in eth0["addr_info"] if a["family"] == "inet"][0]
    assert row["ipv4"] == f"{inet['local']}/{inet['prefixlen']}"
    assert row["mac"] == eth0["address"] and row["state"] == eth0["operstate"]


def test_loopback_ipv6_follows_the_engine(capture):
    # Docker up to 25 disabled IPv6 in every container namespace; 26 and later keep ::1 on lo.
    lo = rows_of(capture, "loner")[0]
    major = int(capture["engine"].split(".")[0])
    assert ("::1/128" in lo["ipv6"]) == (major >= 26)


def test_a_sidecar_shows_the_same_namespace_and_interfaces(capture):
    table = table_of(capture)
    assert lesson06.shares_namespace(table, "app", "debug") is table
    with pytest.raises(ExpectationFailed, match="do not share"):
        lesson06.shares_namespace(table, "app", "loner")


def test_the_table_groups_rows_by_namespace_with_lo_first(capture):
    table = table_of(capture, ("app", "loner", "debug"))
    assert table["container"].tolist()[:2] == ["app", "app"]
    # debug shares app's namespace, so its rows come before loner's.
    assert table["container"].tolist().index("debug") < table["container"].tolist().index("loner")
    assert all(table.groupby("container")["interface"].first() == "lo")


@pytest.mark.parametrize("text", ["", "net:4026532333", "readlink: Permission denied",
                                  "net:[12] extra"])
def test_namespace_links_are_checked(text):
    with pytest.raises(ValueError):
        namespaces.parse_namespace_link(text)


def test_each_namespace_gets_its_own_colour(capture):
    table = table_of(capture)
    colours = namespaces.namespace_colours(table)
    by_container = {row.container: colours[row.netns] for row in table.itertuples()}
    assert by_container["app"] == by_container["debug"] != by_container["loner"]
    assert "background-color" in namespaces.styled(table).to_html()


def test_the_capture_claim_wants_both_directions():
    class FakeLab:
        def ip(self, name):
            return {"client": "172.17.0.4", "app": "172.17.0.3"}[name]

    both = namespaces.probe.ProbeResult(
        "debug", stdout="12:00 IP 172.17.0.4.48736 > 172.17.0.3.8000: tcp 0\n"
                        "12:00 IP 172.17.0.3.8000 > 172.17.0.4.48736: tcp 0")
    assert lesson06.capture_holds(FakeLab(), both, "client", "app") is both
    one_way = namespaces.probe.ProbeResult("debug", stdout=both.stdout.splitlines()[0])
    with pytest.raises(ExpectationFailed):
        lesson06.capture_holds(FakeLab(), one_way, "client", "app")


def test_sockets_but_not_processes():
    sockets = namespaces.probe.ProbeResult(
        "debug", output="State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                        "LISTEN 0      5            0.0.0.0:8000      0.0.0.0:*")
    processes = namespaces.probe.ProbeResult(
        "debug", output="PID COMMAND\n 1 docker-init\n 7 sleep\n 21 ps")
    lesson06.sees_sockets_not_processes(sockets, processes, port=8000)
    with pytest.raises(ExpectationFailed, match="no listener on port 8001"):
        lesson06.sees_sockets_not_processes(sockets, processes, port=8001)
    with_server = namespaces.probe.ProbeResult("debug", output=processes.output + "\n 9 python3")
    with pytest.raises(ExpectationFailed, match="python3"):
        lesson06.sees_sockets_not_processes(sockets, with_server, port=8000)


def test_the_sidecar_prediction_is_parsed_strictly():
    full = dict.fromkeys(lesson06.SIDECAR_ITEMS, True)
    assert lesson06.parse_sidecar_prediction(full) == full
    assert "reaches_app" in lesson06.parse_sidecar_prediction({**full, "reaches_app": None})
    assert "reaches_app" in lesson06.parse_sidecar_prediction({**full, "reaches_app": "no"})
    assert "dict" in lesson06.parse_sidecar_prediction("yes")


def test_the_no_route_claim():
    unreachable = namespaces.probe.ProbeResult("loner", exit_code=2,
                                               output="RTNETLINK answers: Network is unreachable")
    assert lesson06.no_route(unreachable) is unreachable
    with pytest.raises(ExpectationFailed):
        lesson06.no_route(namespaces.probe.ProbeResult("loner", output="172.17.0.3 dev eth0"))


def test_heard_runs_a_silent_command_again_a_bounded_number_of_times():
    calls = []

    def rerun():
        calls.append(1)
        return namespaces.probe.ProbeResult("app", stdout="app" if len(calls) == 2 else "",
                                            rerun=rerun)

    silent = namespaces.probe.ProbeResult("app", rerun=rerun)
    assert probe.heard(silent).stdout == "app" and len(calls) == 2
    calls.clear()
    assert probe.heard(silent, attempts=2).stdout == "" and len(calls) == 1
    spoken = namespaces.probe.ProbeResult("app", stderr="RTNETLINK answers", rerun=rerun)
    calls.clear()
    assert probe.heard(spoken) is spoken and not calls
