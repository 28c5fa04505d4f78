"""dockernet.breakages and lesson 15's self-checks on the real daemon: every set-up is built
broken, its check fails with the client's symptom, the lesson's solution fixes it and the check
passes; fixes that break what the story needs are caught."""

import dockernet as dn
import pytest
from dockernet import breakages, mtu
from dockernet.checks import FAILED_MARK, lesson15

LESSON_ID = "96-breakages-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def _fails_with(result, *words):
    assert not result.passed, result
    assert str(result).startswith(FAILED_MARK)
    for word in words:
        assert word in result.hint, result.hint


def test_names_wrong_network_missing_alias_alias_elsewhere(lab):
    shop = breakages.wrong_network(lab)
    _fails_with(lesson15.shop_fixed(lab, shop), "shop still cannot get http://catalog:8000/")
    lab.connect("shop", "catalog-net")
    lesson15.shop_fixed(lab, shop).require()

    app = breakages.missing_alias(lab)
    _fails_with(lesson15.app_fixed(lab, app), "app still cannot get http://database:8000/")
    lab.connect("pg", "data-net", aliases=["database"])
    lesson15.app_fixed(lab, app).require()

    billing = breakages.alias_elsewhere(lab)
    _fails_with(lesson15.billing_fixed(lab, billing), "billing still cannot get")
    assert lab.curl("audit", billing.url, timeout=2).ok  # the name works on ledger-net
    lab.connect("ledger", "billing-net", aliases=["books"])
    lesson15.billing_fixed(lab, billing).require()
    # Moving the alias instead of adding it breaks audit: the check says so.
    lab.connect("ledger", "ledger-net", aliases=[])
    _fails_with(lesson15.billing_fixed(lab, billing), "audit no longer")


def test_rebuilding_breaks_a_fixed_set_up_again(lab):
    shop = breakages.wrong_network(lab)
    lab.connect("shop", "catalog-net")
    assert lesson15.shop_fixed(lab, shop).passed
    shop = breakages.wrong_network(lab)
    assert not lesson15.shop_fixed(lab, shop).passed
    lab.get_container("catalog").remove(force=True)
    _fails_with(lesson15.shop_fixed(lab, shop), "catalog no longer")


def test_loopback_bind_refuses_until_the_server_listens_on_every_address(lab):
    frontend = breakages.loopback_bind(lab)
    assert frontend.attempt().exit_code == 7                         # refused, at once
    assert lab.curl("api", "http://127.0.0.1:8000/").ok               # "works on my container"
    _fails_with(lesson15.frontend_fixed(lab, frontend), "frontend still cannot get")
    lab.hello_server("api", network="api-net", message="Hello from api!")
    lesson15.frontend_fixed(lab, frontend).require()


def test_internal_network_until_reports_gets_a_way_out_and_warehouse_stays_sealed(lab):
    reports = breakages.internal_egress(lab)
    _fails_with(lesson15.reports_fixed(lab, reports), "reports still cannot get")
    # Making the whole network non-internal opens warehouse too: caught.
    lab.network("jobs-net")
    lab.run("warehouse", network="jobs-net")
    lab.run("reports", network="jobs-net")
    _fails_with(lesson15.reports_fixed(lab, reports), "warehouse now has a way out")
    reports = breakages.internal_egress(lab)
    lab.network("egress-net")
    lab.connect("reports", "egress-net")
    lesson15.reports_fixed(lab, reports).require()


def test_mtu_until_the_inner_network_gets_the_path_mtu(lab):
    download = breakages.mtu_mismatch(lab)
    assert mtu.fetch(lab, "small").ok
    _fails_with(lesson15.download_fixed(lab, download), "client still cannot get", "(28)")
    mtu.build(lab, inner_mtu=mtu.NARROW_MTU)
    lesson15.download_fixed(lab, download).require()


def test_port_on_loopback_until_published_on_the_lan_address(lab):
    status = breakages.wrong_publish(lab)
    world = status.world
    _fails_with(lesson15.status_fixed(lab, status), "outside still cannot get")
    # On every address: the LAN gets it, and the check says that is too wide.
    lab.hello_server("status", network="ops-net", ports={"8000/tcp": ("0.0.0.0", status.port)},
                     message="Hello from status!")
    _fails_with(lesson15.status_fixed(lab, status), "every other network")
    lab.hello_server("status", network="ops-net",
                     ports={"8000/tcp": (world.host_address, status.port)},
                     message="Hello from status!")
    lesson15.status_fixed(lab, status).require()


def test_checks_refuse_what_is_not_a_set_up(lab):
    _fails_with(lesson15.shop_fixed(lab, None), "Pass the set-up")
    _fails_with(lesson15.refused_means(lab, "a"), "never gets as far")
    assert lesson15.refused_means(lab, " B ").passed
