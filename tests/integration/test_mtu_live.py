"""dockernet.mtu on the real daemon: the narrow hop hangs large pages until the network's MTU
is set, and bad input makes nothing."""

import dockernet as dn
import pytest
from dockernet import mtu
from dockernet.errors import LabError

LESSON_ID = "97-mtu-tests"


@pytest.fixture
def lab(client, lab_image, learner):
    return dn.Lab(LESSON_ID, learner=learner, client=client, quiet=True)


def test_large_pages_hang_until_inner_gets_the_narrow_mtu(lab):
    path = mtu.build(lab)
    assert list(path["MTU"]) == [1500, mtu.NARROW_MTU, 1500, 1500], path
    assert mtu.fetch(lab, "small").expect_success().stdout == f"{mtu.SIZES['small']} bytes"
    large = mtu.fetch(lab, "large", timeout=3)
    assert mtu.timed_out(large), large

    fixed = mtu.build(lab, inner_mtu=mtu.NARROW_MTU)
    assert list(fixed["MTU"]) == [mtu.NARROW_MTU, mtu.NARROW_MTU, 1500, 1500], fixed
    assert mtu.fetch(lab, "large").expect_success().stdout == f"{mtu.SIZES['large']} bytes"


def test_bad_input_makes_nothing(lab):
    with pytest.raises(LabError):
        mtu.build(lab, inner_mtu=40)
    with pytest.raises(LabError):
        mtu.fetch(lab, "medium")
    assert not lab.networks() and not lab.containers()
