"""dockernet.breakages and lesson 15's checks without a daemon: the set-up description, the
symptom a check quotes, the verdict on a client's answer, and Exercise 8's letters."""

from dockernet import breakages
from dockernet.capabilities import HostReport
from dockernet.checks import FAILED_MARK, lesson15
from dockernet.probe import ProbeResult
from dockernet.syllabus import PARTIAL, lessons_table

RESOLVE_2010 = "curl: (28) Resolving timed out after 2000 milliseconds"
REFUSED = ("curl: (7) Failed to connect to api port 8000 after 0 ms: "
           "Could not connect to server")
MTU_HANG = ("0 bytes\ncurl: (28) Operation timed out after 3002 milliseconds with 0 out of "
            "65536 bytes received")


def _setup(**overrides):
    fields = dict(name="wrong network", client="shop", url="http://catalog:8000/",
                  containers=("shop", "catalog"), networks=("shop-net", "catalog-net"),
                  expected="Hello from catalog!")
    fields.update(overrides)
    return breakages.Breakage(**fields)


def test_the_symptom_is_curls_last_line_never_a_fix():
    hang = ProbeResult("client", exit_code=28, output=MTU_HANG)
    assert lesson15.symptom("client", "http://10.0.0.2:8000/large", hang) == \
        "client still cannot get http://10.0.0.2:8000/large: " + MTU_HANG.splitlines()[-1]
    silent = ProbeResult("shop", exit_code=6, output="")
    assert lesson15.symptom("shop", "http://catalog:8000/", silent).endswith(": exit 6")


def test_a_client_is_served_only_by_the_answer_it_expects():
    setup = _setup()
    assert lesson15._answered(setup, ProbeResult("shop", output="Hello from catalog!")) == \
        (True, "")
    ok, hint = lesson15._answered(setup, ProbeResult("shop", output="Hello Docker!"))
    assert not ok and "not the one it expects" in hint and "Hello Docker!" in hint
    ok, hint = lesson15._answered(setup, ProbeResult("shop", exit_code=28, output=RESOLVE_2010))
    assert not ok and hint == f"shop still cannot get http://catalog:8000/: {RESOLVE_2010}"


def test_attempt_runs_the_set_ups_own_probe_and_frame_names_its_objects():
    refused = ProbeResult("frontend", exit_code=7, output=REFUSED)
    setup = _setup(client="frontend", _attempt=lambda timeout: refused)
    assert setup.attempt() is refused
    row = setup.frame().iloc[0]
    assert (row["client"], row["containers"], row["networks"]) == \
        ("frontend", "shop, catalog", "shop-net, catalog-net")
    assert "<table" in setup._repr_html_()


def test_checks_want_the_set_up_the_build_cell_returned():
    result = lesson15._missing(None, "shop")
    assert not result and str(result).startswith(FAILED_MARK) and "Pass the set-up" in result.hint


def test_exercise_8_letters():
    assert lesson15.refused_means(None, "b").passed
    assert "never gets as far" in lesson15.refused_means(None, "a").hint
    assert "dropped packet" in lesson15.refused_means(None, "C").hint
    assert "set it to one letter" in lesson15.refused_means(None, 2).hint


def test_every_builder_is_listed_once_in_the_lessons_order():
    assert [b.__name__ for b in breakages.BUILDERS] == [
        "wrong_network", "missing_alias", "loopback_bind", "internal_egress", "alias_elsewhere",
        "mtu_mismatch", "wrong_publish"]


def test_the_doctor_says_lesson_15_degrades_on_rootless_docker():
    rows = {r.lesson: r for r in lessons_table(HostReport(lab_image_present=True,
                                                          rootless=True))}
    assert rows["15"].status == PARTIAL and "sections 4 and 7" in rows["15"].note
