"""Lesson 04's parsers: /etc/hosts, link variables and their origins, on files captured from
Docker 20.10 and 28.5 (tests/unit/data/legacy/, written by a linked container with an
``--add-host`` entry and a hand-written line)."""

import json
from pathlib import Path

import pytest
from dockernet import LabError, legacy

CAPTURES = sorted((Path(__file__).parent / "data" / "legacy").glob("docker-*.json"))


@pytest.fixture(params=CAPTURES, ids=[p.stem for p in CAPTURES])
def captured(request):
    return json.loads(request.param.read_text())


def test_every_line_of_a_captured_hosts_file_is_read(captured):
    table = legacy.parse_hosts(captured["hosts"])
    assert len(table) == len([line for line in captured["hosts"].splitlines() if line.strip()])
    assert table.iloc[0].tolist() == ["127.0.0.1", ["localhost"]]


def test_each_line_is_traced_to_the_option_that_wrote_it(captured):
    links = {real.removeprefix(captured["learner_prefix"]): alias
             for real, alias in legacy.link_aliases(captured["links"]).items()}
    table = legacy.who_wrote(legacy.parse_hosts(captured["hosts"]),
                             hostname=captured["hostname"],
                             own_addresses=captured["own_addresses"], links_=links,
                             extra_hosts=captured["extra_hosts"])
    origin = {tuple(row["names"]): row["written by"] for _, row in table.iterrows()}
    target = captured["learner_prefix"] + "helloworld"
    assert origin[("db", "helloworld", target)] == "Docker: --link helloworld:db"
    assert origin[("api",)] == "Docker: --add-host"
    assert origin[("web",)] == "Docker: its own name"
    assert origin[("hello.local",)] == legacy.BY_HAND
    assert set(origin.values()) - {"Docker: localhost"} == {
        "Docker: --link helloworld:db", "Docker: --add-host", "Docker: its own name",
        legacy.BY_HAND}


def test_the_link_line_has_the_target_address(captured):
    table = legacy.parse_hosts(captured["hosts"])
    line = table[table["names"].map(lambda names: names[0] == "db")].iloc[0]
    assert line["address"] == captured["target_address"]


def test_link_variables_of_the_program_and_of_an_exec_agree_when_nothing_moved(captured):
    program = legacy.link_variables(legacy.parse_environ(captured["environ"]), ["db"])
    fresh = legacy.link_variables(legacy.parse_environ(captured["exec_env"]), ["db"])
    assert program == fresh
    assert program["DB_PORT_8000_TCP_ADDR"] == captured["target_address"]
    assert program["DB_ENV_MESSAGE"] == "Hello Docker!"
    assert "PATH" not in program and "HOSTNAME" not in program


def test_only_the_link_patterns_count_as_link_variables():
    env = {"DB_PORT": "tcp://a:1", "DB_PORT_1_TCP_ADDR": "a", "DB_NAME": "/w/db",
           "DB_ENV_X": "1", "DB_PASSWORD": "secret", "DBX_NAME": "n", "MY_DB_NAME": "/w/my-db"}
    assert set(legacy.link_variables(env, ["db"])) == {"DB_PORT", "DB_PORT_1_TCP_ADDR",
                                                       "DB_NAME", "DB_ENV_X"}
    assert legacy.link_variables(env, ["my-db"]) == {"MY_DB_NAME": "/w/my-db"}
    assert legacy.link_variables(env, []) == {}


def test_a_hosts_file_with_comments_and_blank_lines():
    table = legacy.parse_hosts("# written by hand\n\n10.0.0.1 a b  # trailing\n10.0.0.2\n")
    assert table.to_dict("records") == [{"address": "10.0.0.1", "names": ["a", "b"]}]


@pytest.mark.parametrize("entry, expected", [
    ("api:172.17.0.3", ("api", "172.17.0.3")),
    ("api=172.17.0.3", ("api", "172.17.0.3")),
    ("v6:2001:db8::1", ("v6", "2001:db8::1")),
    ("v6=[2001:db8::1]", ("v6", "2001:db8::1")),
])
def test_extra_hosts_in_every_spelling(entry, expected):
    assert legacy.parse_extra_host(entry) == expected


@pytest.mark.parametrize("version, sets", [("20.10.24+dfsg1", True), ("28.5.2+dfsg4", True),
                                           ("28.4.0", True), ("29.0.0-rc.1", False),
                                           ("29.7.2", False)])
def test_link_variables_stop_at_29(version, sets):
    assert legacy.sets_link_env(version) is sets


def test_an_unreadable_version_is_one_clear_error():
    with pytest.raises(LabError, match="engine version"):
        legacy.sets_link_env("dev")


def test_the_comparison_has_a_column_per_way_and_no_gaps():
    table = legacy.comparison()
    assert list(table.columns) == ["--link", "/etc/hosts by hand", "--add-host",
                                   "user-defined network"]
    assert not table.isna().any().any()
    assert table.loc["works on", "--link"] == "the default bridge only"


def test_the_comparison_fits_a_notebook_table_uncut():
    # pandas cuts a cell's text at 50 characters (display.max_colwidth): "...".
    longest = max(len(text) for texts in legacy.COMPARISON.values() for text in texts)
    assert longest <= 50
