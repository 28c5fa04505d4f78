"""Reading a probe's output: stdout is parsed, stderr only explains (pure, no daemon).

The sample is ``ip -j -br link`` as captured in a container whose interfaces were
being created and deleted while ``ip`` dumped them: iproute2 then exits 0 and
writes its warning on stderr. Read merged, as probes did before, the warning lands
inside the JSON (30 learners' kernels failed lesson 01 with JSONDecodeError).
"""

import json

import pytest
from dockernet import probe
from dockernet.probe import ProbeResult

STDOUT = ('[{"ifname":"lo","operstate":"UNKNOWN","address":"00:00:00:00:00:00",'
          '"flags":["LOOPBACK","UP","LOWER_UP"]},{"link":"y20","ifname":"x20",'
          '"operstate":"DOWN","address":"4a:ce:a3:57:4d:87",'
          '"flags":["BROADCAST","MULTICAST","M-DOWN"]}]')
INTERRUPTED = "Dump was interrupted and may be inconsistent."


def dumped(stdout=STDOUT, stderr="", exit_code=0):
    return ProbeResult("host-view", ["ip", "-j", "-br", "link"], exit_code,
                       "\n".join(p for p in (stdout, stderr) if p), 0.1, stdout, stderr)


def test_merged_output_of_an_interrupted_dump_is_not_json():
    # The failure this module's split fixes: the warning follows the JSON on one stream.
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        json.loads(dumped(stderr=INTERRUPTED).output)


def test_stdout_alone_parses_whatever_stderr_says():
    links = probe.parse_json(dumped(stderr=INTERRUPTED))
    assert [link["ifname"] for link in links] == ["lo", "x20"]


def test_an_interrupted_dump_is_read_again_and_a_clean_one_is_not():
    assert probe.is_torn(dumped(stderr=INTERRUPTED))
    assert not probe.is_torn(dumped())


@pytest.mark.parametrize("cut", [1, 40, len(STDOUT) - 1])
def test_a_torn_dump_is_read_again(cut):
    torn = dumped(stdout=STDOUT[:cut])
    assert probe.parse_json(torn) is None
    assert probe.is_torn(torn)


def test_a_failed_command_is_an_error_not_a_torn_dump():
    failed = dumped(stdout="", stderr='Device "dnx-0123456789" does not exist.', exit_code=1)
    assert not probe.is_torn(failed)


def test_empty_output_is_an_empty_list():
    # ip -j prints nothing at all when nothing matches (e.g. no address on eth0 yet).
    assert probe.parse_json(dumped(stdout="")) == []


def curl_result(exit_code, then=None):
    """A curl result whose re-run returns ``then`` (another result), as probe.run wires it."""
    return ProbeResult("web1", ["curl", "http://10.200.9.2:8000"], exit_code,
                       "Hello from db!" if exit_code == 0 else "curl: (28) timed out", 0.1,
                       rerun=then)


def test_a_probe_that_slipped_through_once_still_shows_the_wall():
    # Docker re-inserting its isolation jump let one packet through; the re-run is dropped.
    slipped = curl_result(0, then=lambda: curl_result(28))
    held = slipped.expect_failure()
    assert (held.exit_code, held.attempts) == (28, 2)
    assert "try 2" in str(held)


def test_a_real_path_fails_the_claim_after_the_rechecks():
    always = curl_result(0)
    always.rerun = lambda: curl_result(0, then=always.rerun)
    with pytest.raises(AssertionError, match=f"worked {probe.RECHECKS + 1} times in a row"):
        always.expect_failure()


def test_a_failure_is_accepted_at_once():
    calls = []
    failed = curl_result(28, then=lambda: calls.append(1))
    assert failed.expect_failure() is failed and not calls
