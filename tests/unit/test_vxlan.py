"""dockernet.vxlan's parser, on tcpdump text captured on a simulated host
(tests/unit/data/vxlan/README.md) and on made-up lines for the edge cases."""

from pathlib import Path

from dockernet import vxlan

CAPTURE = (Path(__file__).parent / "data" / "vxlan" / "overlay_curl.txt").read_text()
HOST_A, HOST_B = "10.202.88.2", "10.202.88.3"


def test_every_captured_packet_is_read_with_its_inner_tcp():
    packets = vxlan.packets(CAPTURE)
    assert len(packets) == 12
    assert all(p.udp_port == 4789 and p.vni == 4097 for p in packets)
    assert all(p.inner_src and p.inner_dst and p.tcp_flags for p in packets)


def test_outer_addresses_are_the_hosts_and_inner_ones_the_containers():
    packets = vxlan.packets(CAPTURE)
    assert {(p.outer_src, p.outer_dst) for p in packets} == {(HOST_A, HOST_B), (HOST_B, HOST_A)}
    for p in packets:  # the client's packets leave host A; web's answers leave host B
        from_client = p.inner_src.startswith("10.0.1.4:")
        assert p.outer_src == (HOST_A if from_client else HOST_B)
        assert {p.inner_src.split(":")[0], p.inner_dst.split(":")[0]} == {"10.0.1.4", "10.0.1.2"}


def test_the_handshake_request_and_goodbye_in_order():
    flags = [p.tcp_flags for p in vxlan.packets(CAPTURE)]
    assert flags[:3] == ["S", "S.", "."]
    assert flags.count("P.") == 3 and flags.count("F.") == 2
    lengths = [p.inner_length for p in vxlan.packets(CAPTURE)]
    assert lengths[3] == 72 and lengths[5] == 185  # the GET, and the response's headers


def test_table_has_the_lessons_columns_and_names_the_flags():
    table = vxlan.table(CAPTURE)
    assert list(table.columns) == vxlan.COLUMNS
    assert table.loc[0, "TCP flags"] == "S (SYN)" and table.loc[1, "TCP flags"] == "S. (SYN-ACK)"
    assert table.loc[0, "inner dst"] == "10.0.1.2:8000"


def test_non_packet_lines_are_skipped_and_an_empty_capture_is_an_empty_table():
    text = ("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n"
            "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
            "12 packets captured\n")
    assert vxlan.packets(text) == []
    assert vxlan.table(text).empty and list(vxlan.table(text).columns) == vxlan.COLUMNS


def test_an_inner_packet_that_is_not_tcp_keeps_tcpdumps_words():
    text = ("10:00:00.000001 IP 10.1.0.2.40000 > 10.1.0.3.4789: VXLAN, flags [I] (0x08), vni 4098\n"
            "IP 10.0.2.2 > 10.0.2.3: ICMP echo request, id 7, seq 1, length 64\n"
            "10:00:00.000002 IP 10.1.0.2.40000 > 10.1.0.3.4789: VXLAN, flags [I] (0x08), vni 4098\n"
            "ARP, Request who-has 10.0.2.3 tell 10.0.2.2, length 28\n")
    first, second = vxlan.packets(text)
    assert (first.inner_src, first.inner_dst, first.tcp_flags) == ("10.0.2.2", "10.0.2.3", "")
    assert first.inner_other.startswith("ICMP echo request")
    assert second.inner_other.startswith("ARP, Request") and second.vni == 4098
    assert vxlan.table(text).loc[0, "TCP flags"].startswith("ICMP")


def test_an_inner_line_without_its_outer_header_is_not_a_packet():
    text = "IP 10.0.1.4.58020 > 10.0.1.2.8000: Flags [S], seq 1, win 64860, length 0\n"
    assert vxlan.packets(text) == []


def test_flag_names_and_the_capture_command():
    assert vxlan.flag_name("F.") == "F. (FIN-ACK)" and vxlan.flag_name("EW") == "EW"
    argv = vxlan.capture_argv("eth0", "img", count=5, seconds=3)
    assert argv[argv.index("timeout") + 1] == "3" and argv[argv.index("-c") + 1] == "5"
    assert argv[-3:] == ["udp", "port", "4789"] and "NET_RAW" in argv


def test_the_example_diagram_draws():
    figure = vxlan.diagram(vxlan.EXAMPLE_LAYOUT)
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "VNI 4097" in texts and "eth0 10.202.88.3" in texts and "web" in texts
    assert "example addresses" in figure._suptitle.get_text()
