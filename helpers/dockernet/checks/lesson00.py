"""Lesson 00 · Check your setup: its exercise self-checks and its one claim.

The self-checks compare a learner's answer with the lab and the daemon and say what is off,
never the value. The claim (``*_holds``) checks what section 5 says about the flags the lab
adds to ``docker run``, on the live container, and raises
:class:`~dockernet.ExpectationFailed` when the container disagrees.

>>> from dockernet.checks import lesson00
>>> lesson00.predicted_name(lab, "web")                        # doctest: +ELLIPSIS
CheckResult(passed=False, hint='that is the short name you type; Docker knows ...')
>>> lesson00.predicted_name(lab, f"dn-{lab.learner}-02-web").passed
True
>>> lesson00.whose_kernel(lab, "image", None)                  # doctest: +ELLIPSIS
CheckResult(passed=False, hint="there is no container 'kernelcheck' in this lesson yet: ...")
>>> box = lab.run("kernelcheck")
>>> lesson00.run_flags_hold(lab, "kernelcheck")["--hostname"]
'kernelcheck'
>>> kernel = lab.exec("kernelcheck", "uname -r").output
>>> lesson00.whose_kernel(lab, "image", kernel).hint.startswith("an image holds files")
True
>>> lesson00.whose_kernel(lab, "engine host", kernel).passed
True
"""

from __future__ import annotations

from ..errors import ExpectationFailed
from ..lab import LOCAL_ONLY_DNS, LOCAL_ONLY_DNS_OPTIONS
from ..naming import LAB, LEARNER, LESSON, SESSION, SHORT_NAME, SPEC, docker_name, lesson_key
from . import CheckResult, container_or_none, verdict

#: Exercise 1: the container a learner will call ``web`` in lesson 02.
FUTURE_LESSON, FUTURE_NAME = "02-user-defined-bridge", "web"
#: Exercise 2: the answers a learner chooses from, and the one that holds on every engine.
KERNEL_CHOICES = ("image", "engine host", "notebook")
KERNEL_ANSWER = "engine host"
#: The labels ``Lab.run`` puts on a container (a tool also gets ``dockernet.role``).
RUN_LABELS = (LAB, LEARNER, LESSON, SHORT_NAME, SESSION, SPEC)


def run_flags_hold(lab, name: str = "first"):
    """Section 5's claim: the container ``name`` carries the flags the lesson lists.

    Returns:
        dict: flag -> what the container has, for the lesson to show.

    Raises:
        ExpectationFailed: a flag the lesson names is not on the container as it says.
    """
    container = lab.get_container(name)
    config, host = container.attrs["Config"], container.attrs["HostConfig"]
    found = {"--name": container.name, "--hostname": config.get("Hostname"),
             "--dns": host.get("Dns"), "--dns-option": host.get("DnsOptions"),
             "--init": host.get("Init")}
    # The run's own labels; the image's (`dockernet.image`) show on the container too.
    found.update({f"--label {key}": container.labels.get(key) for key in RUN_LABELS})
    expected = {"--name": lab.name(name), "--hostname": name, "--dns": LOCAL_ONLY_DNS,
                "--dns-option": LOCAL_ONLY_DNS_OPTIONS, "--init": True,
                f"--label {LAB}": "1", f"--label {LEARNER}": lab.learner,
                f"--label {LESSON}": lab.lesson, f"--label {SHORT_NAME}": name}
    wrong = [f"{flag}: expected {value!r}, the container has {found[flag]!r}"
             for flag, value in expected.items() if found[flag] != value]
    if wrong:
        raise ExpectationFailed(f"{name!r} does not carry the lab's flags as section 5 lists "
                                "them: " + "; ".join(wrong))
    return found


def predicted_name(lab, answer) -> CheckResult:
    """Exercise 1: is ``answer`` the real Docker name of lesson 02's ``web``?"""
    expected = docker_name(lab.learner, FUTURE_LESSON, FUTURE_NAME)
    text = answer.strip() if isinstance(answer, str) else ""
    this_lesson = lesson_key(lab.lesson)
    return verdict([
        (answer is not None, "web_name is still None: write the name you predict as a string."),
        (isinstance(answer, str), f"web_name is a {type(answer).__name__}; write the name as "
                                  "text, e.g. in quotes."),
        (text != FUTURE_NAME, "that is the short name you type; Docker knows the container by a "
                              "longer one (section 4)."),
        (text.startswith("dn-"), "real names start with the lab's prefix: look at first.name."),
        (lab.learner in text, "the name carries a learner id: whose? (lab.learner)"),
        (FUTURE_LESSON not in text,
         "the lesson part of the name is shorter than the lesson's full id: compare with "
         "first.name, made in lesson 00-check-setup."),
        (this_lesson == "02" or f"-{this_lesson}-" not in text,
         "that is this lesson's part; web lives in lesson 02."),
        (text == expected, "not quite: compare your name with first.name part by part (prefix, "
                           "learner, lesson, your short name, joined by '-')."),
    ], praise="that is the name lab.run('web') gets in lesson 02; `docker exec -it` with it "
              "opens a shell there.")


def whose_kernel(lab, choice, kernel, container: str = "kernelcheck") -> CheckResult:
    """Exercise 2: ``kernel`` is what ``uname -r`` printed in ``container``, and ``choice``
    says whose kernel that is."""
    engine_kernel = lab.client.info().get("KernelVersion", "")
    return verdict([
        (choice in KERNEL_CHOICES, f"whose_kernel must be one of {KERNEL_CHOICES}: commit to "
                                   "one before you look."),
        (container_or_none(lab, container) is not None,
         f"there is no container {container!r} in this lesson yet: start it with "
         f"lab.run({container!r})."),
        (kernel is not None, "kernel is still None: run `uname -r` inside the container with "
                             "lab.exec and keep what it printed."),
        (isinstance(kernel, str), f"kernel is a {type(kernel).__name__}; keep the text the "
                                  "command printed (the result's .output)."),
        (isinstance(kernel, str) and kernel.strip() == engine_kernel,
         "that is not what `uname -r` prints in the container: did it run inside it (lab.exec), "
         "and did you keep only its output?"),
        (choice != "image", "an image holds files and programs. Does it hold a kernel? Compare "
                            "kernel with the 'kernel' row of section 1's table."),
        (choice != "notebook",
         "here the notebook and the engine share one machine, so that answer fits today. On "
         "Docker Desktop the notebook runs on macOS or Windows and the container prints a "
         "Linux kernel ending in 'linuxkit': which answer holds there too?"),
        (choice == KERNEL_ANSWER, "which machine runs the containers' processes?"),
    ], praise="containers share the kernel of the engine's host (on Docker Desktop, its VM): "
              "what that kernel lacks, no image can add.")
