"""Unit tests of dockernet.tables' pure functions, on real (trimmed) inspect JSON.

The fixtures in tests/unit/data were captured from Docker 20.10 (API 1.41): a lab
with web and client on the default bridge, db (alias database) and client on
my-net (/24), api on big-net (/16) and my-net, hostview on host, loner on none,
and sidecar in web's network namespace. Expected values are read from the same
JSON, never typed in.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path

import pandas as pd
import pytest
from dockernet import tables
from dockernet.naming import display_name

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def container_inspects():
    return json.loads((DATA / "containers_inspect.json").read_text())


@pytest.fixture(scope="module")
def network_inspects():
    return json.loads((DATA / "networks_inspect.json").read_text())


@pytest.fixture(scope="module")
def by_short(container_inspects):
    return {display_name(c["Config"]["Labels"], c["Name"][1:]): c for c in container_inspects}


@pytest.fixture(scope="module")
def lab_network_names(network_inspects):
    return {n["Name"]: n["Labels"]["dockernet.name"] for n in network_inspects
            if n["Labels"].get("dockernet.lab") == "1"}


@pytest.fixture(scope="module")
def endpoint_df(container_inspects, lab_network_names):
    return tables.endpoints_frame(tables.endpoint_rows(container_inspects, lab_network_names))


def _missing_as_none(value):
    # pandas shows a missing string as NaN; the inspect JSON has "" there.
    return None if pd.isna(value) else value


def test_network_rows_columns_and_names(network_inspects, container_inspects):
    rows = tables.network_rows(network_inspects, [c["Id"] for c in container_inspects])
    assert [list(r) for r in rows] == [tables.NETWORK_COLUMNS] * len(network_inspects)
    shown = {r["docker_name"]: r["network"] for r in rows}
    for net in network_inspects:
        expected = net["Labels"].get("dockernet.name", net["Name"])
        assert shown[net["Name"]] == expected
    assert shown["bridge"] == "bridge"


def test_network_rows_subnet_and_gateway_from_ipam(network_inspects):
    rows = {r["docker_name"]: r for r in tables.network_rows(network_inspects)}
    for net in network_inspects:
        config = (net["IPAM"]["Config"] or [{}])[0]
        assert rows[net["Name"]]["subnet"] == config.get("Subnet")
        if config.get("Gateway"):
            assert rows[net["Name"]]["gateway"] == config["Gateway"]
    assert rows["host"]["subnet"] is None and rows["none"]["subnet"] is None


def test_default_bridge_gateway_falls_back_to_endpoints(network_inspects, container_inspects):
    # Docker 20.10's default bridge has no Gateway in IPAM: the containers say what it is.
    bridge = next(n for n in network_inspects if n["Name"] == "bridge")
    assert not bridge["IPAM"]["Config"][0].get("Gateway")
    gateways = tables.endpoint_gateways(container_inspects)
    row = tables.network_rows([bridge], [], gateways)[0]
    reported = {c["NetworkSettings"]["Networks"]["bridge"]["Gateway"]
                for c in container_inspects if "bridge" in c["NetworkSettings"]["Networks"]}
    assert reported == {row["gateway"]}
    assert ipaddress.ip_address(row["gateway"]) in ipaddress.ip_network(row["subnet"])
    assert tables.network_rows([bridge])[0]["gateway"] is None  # nothing to go on: no guess


def test_network_rows_count_only_lab_containers(network_inspects, container_inspects):
    ours = [c["Id"] for c in container_inspects]
    for net in network_inspects:
        attached = set(net["Containers"])
        row_all = tables.network_rows([net], ours)[0]
        row_one = tables.network_rows([net], ours[:1])[0]
        assert row_all["containers"] == len(attached & set(ours))
        assert row_one["containers"] == (1 if ours[0] in attached else 0)
    assert tables.network_rows(network_inspects, [])[0]["containers"] == 0


def test_networks_frame_puts_dockers_own_first(network_inspects):
    frame = tables.networks_frame(tables.network_rows(network_inspects))
    assert list(frame.columns) == tables.NETWORK_COLUMNS
    assert list(frame["docker_name"][:3]) == ["bridge", "host", "none"]
    assert frame["internal"].dtype == bool and frame["containers"].dtype == int


def test_endpoint_rows_one_per_container_network(endpoint_df, container_inspects,
                                                 lab_network_names):
    expected = {(display_name(c["Config"]["Labels"], c["Name"][1:]), lab_network_names.get(n, n))
                for c in container_inspects for n in c["NetworkSettings"]["Networks"]}
    assert list(endpoint_df.columns) == tables.ENDPOINT_COLUMNS
    assert set(zip(endpoint_df["container"], endpoint_df["network"])) == expected
    assert len(endpoint_df) == len(expected)
    assert "sidecar" not in set(endpoint_df["container"])  # container: mode has no endpoint


def test_endpoint_rows_addresses_match_inspect(endpoint_df, by_short, lab_network_names):
    docker_of = {v: k for k, v in lab_network_names.items()}
    for row in endpoint_df.itertuples():
        endpoint = by_short[row.container]["NetworkSettings"]["Networks"][
            docker_of.get(row.network, row.network)]
        assert _missing_as_none(row.ipv4) == (endpoint["IPAddress"] or None)
        assert _missing_as_none(row.mac) == (endpoint["MacAddress"] or None)
        assert _missing_as_none(row.gateway) == (endpoint["Gateway"] or None)
        if _missing_as_none(row.ipv4):
            assert row.prefix == endpoint["IPPrefixLen"]
            assert ipaddress.ip_address(row.gateway) in ipaddress.ip_interface(
                f"{row.ipv4}/{row.prefix}").network
        else:
            assert pd.isna(row.prefix)


def test_dns_names_empty_on_default_bridge_host_none(endpoint_df):
    builtin = endpoint_df[endpoint_df["network"].isin(["bridge", "host", "none"])]
    assert len(builtin) >= 4
    assert all(names == [] for names in builtin["dns_names"])


def test_dns_names_on_user_networks_are_aliases_and_name(endpoint_df, by_short):
    user = endpoint_df[~endpoint_df["network"].isin(["bridge", "host", "none"])]
    assert len(user) >= 4
    for row in user.itertuples():
        container = by_short[row.container]
        assert row.container in row.dns_names               # the learner's short name
        assert container["Name"][1:] in row.dns_names        # the Docker name
        assert not any(container["Id"].startswith(n) for n in row.dns_names)  # no id alias
        assert len(set(row.dns_names)) == len(row.dns_names)
    db = user[user["container"] == "db"].iloc[0]
    assert "database" in db["dns_names"]


def test_dns_names_prefers_dnsnames_of_newer_engines(by_short):
    # Docker 25+ reports DNSNames (name, aliases, short id, hostname); simulate one on db.
    db = copy.deepcopy(by_short["db"])
    net_name, endpoint = next(iter(db["NetworkSettings"]["Networks"].items()))
    endpoint["DNSNames"] = [db["Name"][1:], "db", "database", db["Id"][:12], "db-host"]
    names = tables.endpoint_rows([db])[0]["dns_names"]
    assert names == [db["Name"][1:], "db", "database", "db-host"]


def test_endpoints_sorted_by_network_then_numeric_address():
    rows = [{"container": f"c{i}", "network": net, "ipv4": ip, "prefix": 24, "gateway": None,
             "mac": None, "dns_names": []}
            for i, (net, ip) in enumerate([("b", "10.0.0.10"), ("b", "10.0.0.9"), ("a", None),
                                           ("a", "10.0.0.2"), ("b", "10.0.0.100")])]
    frame = tables.endpoints_frame(rows)
    assert list(frame["network"]) == ["a", "a", "b", "b", "b"]
    assert list(frame["ipv4"][2:]) == ["10.0.0.9", "10.0.0.10", "10.0.0.100"]
    assert pd.isna(frame["ipv4"][1])  # no address sorts last within its network


def test_empty_inputs_give_empty_frames_with_columns():
    assert list(tables.endpoints_frame([]).columns) == tables.ENDPOINT_COLUMNS
    assert list(tables.networks_frame([]).columns) == tables.NETWORK_COLUMNS
