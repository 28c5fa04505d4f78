"""Lesson 14's pure parts: parsing ping and iperf3 output captured from the lab image, the
ordering rule, the summary, and the claims on made-up samples (never on live figures)."""

from pathlib import Path

import pandas as pd
import pytest
from dockernet import perf
from dockernet.capabilities import HostReport
from dockernet.checks import lesson14
from dockernet.errors import ExpectationFailed, LabError
from dockernet.syllabus import FULL, PARTIAL, lessons_table

DATA = Path(__file__).parent / "data" / "perf"


def test_ping_output_of_the_lab_image_gives_every_reply():
    trips = perf.parse_ping((DATA / "ping_loopback.txt").read_text())
    assert trips == [0.042, 0.036, 0.039, 0.036, 0.057]


def test_lost_pings_give_no_values():
    assert perf.parse_ping("From 10.0.0.1 icmp_seq=1 Destination Host Unreachable") == []


def test_iperf3_report_gives_the_run_and_its_intervals():
    report = perf.parse_iperf((DATA / "iperf3_client.json").read_text())
    assert 0.9 < report["seconds"] < 1.5
    assert len(report["intervals"]) == 5 and all(value > 0 for value in report["intervals"])
    assert report["gbit_s"] > 0


def test_iperf3_errors_are_quoted():
    with pytest.raises(LabError, match="Connection refused"):
        perf.parse_iperf((DATA / "iperf3_refused.json").read_text())
    with pytest.raises(LabError, match="no JSON"):
        perf.parse_iperf("iperf3: error - unable to connect")


def test_round_trips_come_from_the_clients_last_list():
    assert perf.parse_round_trips("warming up\n[0.05, 0.06]\n") == [0.05, 0.06]
    with pytest.raises(LabError, match="printed no measurements"):
        perf.parse_round_trips("Traceback ... ConnectionRefusedError")


def test_the_rule_holds_within_tolerance_and_slack():
    assert perf.compare([1.4] * 5, [1.0] * 5, tolerance=0.5).verdict == "holds"
    assert perf.compare([1.6] * 5, [1.0] * 5, tolerance=0.5).verdict == "fails"
    assert perf.compare([0.05] * 5, [0.02] * 5, tolerance=0.5, slack=0.02).verdict == "holds"


def test_a_reversal_with_a_wide_spread_is_too_noisy_not_a_failure():
    wild = [0.5, 1.0, 3.0, 6.0, 9.0]
    judged = perf.compare(wild, [1.0] * 5, tolerance=0.5)
    assert judged.verdict == "too noisy to judge" and "spread" in judged.rule
    assert perf.compare([5.0, 5.0], [1.0, 1.0], tolerance=0.5).verdict == "too noisy to judge"


def test_spread_is_the_interquartile_range_over_the_median():
    assert perf.spread([2.0] * 4) == 0.0
    assert perf.spread([1.0]) == float("inf")


def test_iperf3_runs_last_whole_seconds():
    with pytest.raises(LabError, match="whole seconds"):
        perf.measure_throughput([], seconds=0.5)


def test_summary_and_paths_frame():
    frame = pd.DataFrame({"path": ["a"] * 4 + ["b"] * 4, "probe": ["tcp"] * 8,
                          "ms": [1, 1, 1, 1, 2, 2, 2, 2]})
    table = perf.summary(frame, "ms")
    assert table.loc[("tcp", "b"), "median"] == 2 and table.loc[("tcp", "a"), "n"] == 4
    paths = [perf.Path("a", "x", lambda argv, timeout: None, "1.2.3.4", "1.2.3.4"),
             perf.Path("b", "y", why_not="no macvlan here")]
    shown = perf.paths_frame(paths)
    assert shown["measured here"].tolist() == ["yes", "no: no macvlan here"]


def _latency(host, bridge, proxy, dnat):
    rows = [(name, 1, probe, value) for name, probe, values in
            (("host", "ping", host), ("bridge", "ping", bridge),
             ("published, docker-proxy", "tcp", proxy), ("published, DNAT", "tcp", dnat))
            for value in values]
    return pd.DataFrame(rows, columns=["path", "round", "probe", "ms"])


def test_latency_claims_hold_fail_or_say_too_noisy():
    table = lesson14.latency_orderings(_latency([0.05] * 6, [0.09] * 6, [0.2] * 6, [0.06] * 6))
    assert table["verdict"].tolist() == ["holds", "holds", "not measured here"]
    with pytest.raises(ExpectationFailed, match="ping: host ≤ bridge"):
        lesson14.latency_orderings(_latency([0.5] * 6, [0.09] * 6, [0.2] * 6, [0.06] * 6))
    noisy = lesson14.latency_orderings(_latency([0.05, 0.5, 2, 4, 9], [0.09] * 6, [0.2] * 6,
                                                [0.06] * 6))
    assert noisy["verdict"].iloc[0] == "too noisy to judge"


def test_throughput_claims_need_both_paths():
    frame = pd.DataFrame({"path": ["host"] * 3 + ["bridge"] * 3, "round": 1, "interval": 1,
                          "gbit_s": [10, 11, 12, 8, 9, 8]})
    table = lesson14.throughput_orderings(frame)
    assert table["verdict"].tolist() == ["holds", "not measured here"]


def test_paths_built_requires_the_paths_every_linux_engine_has():
    runner = lambda argv, timeout: None  # noqa: E731 - never called
    built = [perf.Path(name, "", runner, None, "10.0.0.2")
             for name in ("host", "bridge", "published, DNAT")]
    assert len(lesson14.paths_built(built + [perf.Path("macvlan", "", why_not="none")])) == 4
    with pytest.raises(ExpectationFailed, match="published, DNAT"):
        lesson14.paths_built(built[:2])
    with pytest.raises(ExpectationFailed, match="without a reason"):
        lesson14.paths_built(built + [perf.Path("macvlan", "")])


def test_exercise_1_hints_never_give_the_answer():
    assert lesson14.why_proxy_slower("a").passed
    for letter in "bcd":
        result = lesson14.why_proxy_slower(letter)
        assert not result.passed and "copies every byte between two sockets" not in result.hint


def test_lesson_14_is_partial_where_a_path_cannot_be_built():
    base = dict(lab_image_present=True, macvlan=True, ipvlan=False, vxlan=True,
                swarm_state="inactive", network_drivers=["bridge", "overlay", "macvlan"])
    rows = {r.lesson: r for r in lessons_table(HostReport(nested_hosts=True, **base))}
    assert rows["14"].status == FULL
    rows = {r.lesson: r for r in lessons_table(HostReport(nested_hosts=False, **base))}
    assert rows["14"].status == PARTIAL and "simulated hosts" in rows["14"].note
