"""Per-learner host ports: the pure allocation (the live part is a docstring example)."""

import pytest
from dockernet import LabError, ports


def test_blocks_are_stable_aligned_and_spread():
    span = ports.parse_range("20000-29999")
    starts = {ports.block_start(f"learner{n:02d}", "03-publishing-ports", span) for n in range(30)}
    assert all((s - span.start) % ports.BLOCK == 0 and s in span for s in starts)
    assert len(starts) >= 25, "30 learners should mostly get blocks of their own"
    assert ports.block_start("a", "03", span) == ports.block_start("a", "03", span)
    assert ports.block_start("a", "03", span) != ports.block_start("a", "05", span)


def test_first_free_skips_taken_ports_and_wraps_round():
    span = range(20000, 20010)
    assert ports.first_free(span, 20008, taken={20008, 20009}) == 20000
    with pytest.raises(LabError, match="every port in 20000-20009 is taken"):
        ports.first_free(span, 20000, taken=set(span))


@pytest.mark.parametrize("text", ["80-90", "20000", "a-b", "20000-20005", "30000-40000"])
def test_bad_ranges_say_how_to_fix_them(text):
    with pytest.raises(LabError, match="FIRST-LAST between 1024 and 32767"):
        ports.parse_range(text)


def test_port_taken_errors_are_recognised():
    assert ports.is_port_taken(LabError("Bind for 127.0.0.1:20050 failed: port is already allocated"))
    assert ports.is_port_taken(OSError("[Errno 98] Address already in use"))
    assert not ports.is_port_taken(LabError("No such container"))
