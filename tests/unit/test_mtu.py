"""Pure parts of dockernet.mtu: web's pages, finding a hop's link, curl's timeout."""

from dockernet import mtu, probe


def test_web_writes_both_pages_of_the_stated_sizes():
    script = mtu.web_command()[2]
    for page, size in mtu.SIZES.items():
        assert f"head -c {size} /dev/zero" in script and f"/srv/web/{page}" in script
    assert mtu.SIZES["small"] < mtu.NARROW_MTU - 100 < mtu.SIZES["large"]


def test_link_for_finds_the_interface_with_the_address():
    links = [{"ifname": "eth0", "mtu": 1500, "addr_info": [{"local": "10.1.0.3"}]},
             {"ifname": "eth1", "mtu": 1280, "addr_info": [{"local": "10.2.0.3"}]}]
    assert mtu.link_for(links, "10.2.0.3") == {"interface": "eth1", "MTU": 1280}


def test_only_curls_own_timeout_counts_as_a_hang():
    assert mtu.timed_out(probe.ProbeResult("client", exit_code=28))
    assert not mtu.timed_out(probe.ProbeResult("client", exit_code=7))  # refused
