"""dockernet.engines: which version-dependent facts this engine has."""

from __future__ import annotations

import pytest
from dockernet import engines


def here(version, backend=None) -> dict:
    return {row["key"]: row["this engine"] for row in engines.changes(version, backend)}


@pytest.mark.parametrize("text, expected", [
    ("20.10.24+dfsg1", (20, 10, 24)), ("26.1.5+dfsg1-9", (26, 1, 5)), ("28.5.2", (28, 5, 2)),
    ("29.0.0-rc.1", (29, 0, 0)), ("v28.1", (28, 1, 0)), ("", None), (None, None), ("dev", None),
])
def test_engine_versions_are_read_as_numbers(text, expected):
    assert engines.parse_version(text) == expected


def test_the_lessons_own_engine_has_none_of_the_changes():
    assert not any(here("20.10.24+dfsg1", "iptables-nft").values())


@pytest.mark.parametrize("before, version, new_keys", [
    ("27.5.1", "28.0.0", {"unpublished-ports-dropped", "loopback-ports-local"}),
    ("28.0.0", "28.0.1", {"docker-forward-chain"}),
    ("28.0.4", "28.1.0", {"firewall-backend-in-info"}),
    ("28.5.2", "29.0.0", {"isolation-chains-replaced", "link-env-vars-dropped",
                          "macvlan-no-default-gateway", "top-level-address-fields-dropped"}),
])
def test_each_release_adds_its_changes_and_keeps_the_earlier_ones(before, version, new_keys):
    had, has = here(before, "iptables-nft"), here(version, "iptables-nft")
    assert {key for key, value in had.items() if value} <= {key for key, value in has.items() if value}
    assert {key for key, value in has.items() if value and not had[key]} == new_keys


def test_the_nftables_backend_is_a_change_only_where_the_engine_uses_it():
    assert here("29.7.2", "nftables")["nftables-backend"] is True
    assert here("29.7.2", "iptables-nft")["nftables-backend"] is False
    assert all(here("29.7.2", "nftables").values())


def test_an_unreadable_version_is_neither_yes_nor_no():
    assert set(here("unknown").values()) == {None}


def test_keys_are_unique_and_the_frame_is_indexed_by_them():
    keys = [change.key for change in engines.CHANGES]
    assert len(keys) == len(set(keys))
    frame = engines.changes_frame("28.5.2", "iptables-nft")
    assert list(frame.index) == keys and list(frame.columns) == engines.COLUMNS
    assert frame.loc["firewall-backend-in-info", "this engine"]


def test_the_terminal_text_marks_each_change_for_this_engine():
    lines = engines.changes_text("28.5.2", "iptables-nft").splitlines()
    assert len(lines) == len(engines.CHANGES)
    marks = [line[:5] for line in lines]
    assert marks == ["[yes]" if value else "[no ]" for value in here("28.5.2", "iptables-nft").values()]
    assert lines[-1].endswith("(every lesson)") and "(lesson 00)" in lines[3]
