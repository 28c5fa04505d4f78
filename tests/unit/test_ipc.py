"""Unit tests of dockernet.ipc's pure parts and lesson 07's pure claims. The volume
listings were captured in `server` after lesson 07's three exchanges, on Docker 20.10
and 28.5 (tests/unit/data/namespaces/docker-*.json, key "listing")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dockernet import ipc
from dockernet.checks import lesson07
from dockernet.errors import ExpectationFailed, LabError
from dockernet.probe import ProbeResult

CAPTURES = sorted((Path(__file__).parent / "data" / "namespaces").glob("docker-*.json"))


@pytest.fixture(params=CAPTURES, ids=[p.stem for p in CAPTURES])
def listing_text(request):
    return json.loads(request.param.read_text())["listing"]


def test_a_captured_listing_holds_a_file_a_fifo_and_a_socket(listing_text):
    table = ipc.parse_listing(listing_text)
    assert set(table["name"]) == {ipc.MESSAGE_FILE, ipc.FIFO, ipc.SOCKET}
    assert lesson07.listing_holds(table) is table
    assert table["name"].tolist() == sorted(table["name"])


def test_a_listing_whose_fifo_held_data_is_refused(listing_text):
    table = ipc.parse_listing(listing_text)
    full = table.copy()
    full.loc[full["name"] == ipc.FIFO, "size"] = 5
    with pytest.raises(ExpectationFailed, match="pipe"):
        lesson07.listing_holds(full)
    gone = table[table["name"] != ipc.SOCKET]
    with pytest.raises(ExpectationFailed, match="app.sock on the volume is missing"):
        lesson07.listing_holds(gone)


def test_listing_lines_that_are_not_stat_output_are_skipped():
    table = ipc.parse_listing("find: '/shared': No such file\n/shared/a|b|c|regular file|3")
    assert table.to_dict("records") == [{"name": "a|b|c", "type": "regular file", "size": 3}]
    assert ipc.parse_listing("").empty


@pytest.mark.parametrize("name", ["a/b", "../x", ".", "..", "", "x" * 65, None, ".hidden"])
def test_only_plain_names_go_on_the_volume(name):
    with pytest.raises(LabError):
        ipc.volume_path(name)


@pytest.mark.parametrize("message", ["", None, 5, "a\0b", "x" * (ipc.MAX_MESSAGE + 1)])
def test_messages_an_exchange_cannot_carry(message):
    with pytest.raises(LabError):
        ipc.check_message(message)


def test_a_request_is_one_line_but_a_file_may_hold_several():
    assert ipc.check_message("two\nlines") == "two\nlines"
    with pytest.raises(LabError, match="one line"):
        ipc.check_message("two\nlines", one_line=True)


def test_the_service_answers_what_service_reply_says(tmp_path):
    # Run the service's own code against a socket in a temporary folder, with this Python.
    path = tmp_path / "app.sock"
    server = subprocess.Popen([sys.executable, "-c", ipc.SOCKET_SERVICE, str(path)])
    try:
        import socket
        import time

        for _ in range(100):
            if path.exists():
                break
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(path))
            client.sendall(b"hello there\n")
            answer = client.makefile().readline().strip()
        assert answer == ipc.service_reply("hello there", socket.gethostname())
    finally:
        server.kill()
        server.wait(5)


def exchange(way="file", sent="hi", received="hi", expected="hi"):
    return ipc.Exchange(way, "server", "client", "/shared/x", sent, received, expected, 0.1234)


def test_an_exchange_is_ok_when_what_came_out_is_expected():
    assert exchange().ok and not exchange(received="").ok
    assert lesson07.exchange_holds(exchange()).ok
    with pytest.raises(ExpectationFailed, match="file exchange failed"):
        lesson07.exchange_holds(exchange(received="h"))
    assert "⇄" in str(exchange("socket")) and "→" in str(exchange())


def test_the_exchanges_table_has_a_row_per_exchange():
    table = ipc.exchanges_table([exchange(), exchange("fifo"), exchange("socket", received="x")])
    assert table["way"].tolist() == ["file", "fifo", "socket"]
    assert table["ok"].tolist() == [True, True, False]
    assert table["seconds"].tolist() == [0.123] * 3


def test_the_ways_table_compares_the_same_things_for_each_way():
    table = pd.DataFrame(ipc.WAYS).T
    assert list(table.index) == ["file", "fifo", "socket"]
    assert not table.isna().any().any()
    assert table.map(len).max().max() <= 50       # pandas cuts longer cells short


def test_writer_blocks_wants_the_timeout():
    assert lesson07.writer_blocks(ProbeResult("client", exit_code=124)).timed_out
    with pytest.raises(ExpectationFailed):
        lesson07.writer_blocks(ProbeResult("client", exit_code=0))
    with pytest.raises(ExpectationFailed):
        lesson07.writer_blocks(ProbeResult("client", exit_code=2, output="No such file"))


def test_not_a_file_wants_enxio():
    enxio = ProbeResult("client", exit_code=1,
                        output="cat: /shared/app.sock: No such device or address")
    assert lesson07.not_a_file(enxio) is enxio
    with pytest.raises(ExpectationFailed):
        lesson07.not_a_file(ProbeResult("client", exit_code=1, output="No such file"))
