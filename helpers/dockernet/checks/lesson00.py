"""Self-checks for lesson 00 · Check your setup. They compare with the daemon; they
say what is off, never the value.

>>> from dockernet.checks import lesson00
>>> lesson00.check_api_version(lab, lab.client.version()["ApiVersion"])   # doctest: +ELLIPSIS
CheckResult(passed=True, praise='the engine speaks Docker API ...')
>>> lesson00.check_api_version(lab, lab.client.version()["Version"]).passed
False
"""

from __future__ import annotations

from . import CheckResult, verdict


def check_api_version(lab, answer) -> CheckResult:
    """Is ``answer`` the API version the engine speaks (``docker version``'s "API version")?"""
    version = lab.client.version()
    expected = version.get("ApiVersion", "")
    return verdict([
        (answer is not None,
         "api_version is still None: ask the engine through lab.client (the docker SDK)."),
        (isinstance(answer, str),
         f"api_version is a {type(answer).__name__}; the daemon reports it as text "
         "(a string like 'major.minor'): keep it as the SDK returns it."),
        (answer != version.get("Version"),
         "that is the engine's own version; the API version is a separate entry in the "
         "same answer."),
        (answer != version.get("MinAPIVersion"),
         "that is the oldest API version the engine still accepts, not the one it speaks."),
        (answer == expected,
         "that is not the engine's API version: compare with the 'API version' line under "
         "'Server' in `docker version`."),
    ], praise=f"the engine speaks Docker API {expected}.")


def check_container_kernel(lab, answer, container: str = "kernelcheck") -> CheckResult:
    """Did the learner run ``container`` and read the kernel release inside it?"""
    names = [lab.short_name(c) for c in lab.containers()]
    host_kernel = lab.client.info().get("KernelVersion", "")
    return verdict([
        (container in names,
         f"there is no container {container!r} in this lesson yet: start it with "
         f"lab.run({container!r})."),
        (answer is not None, "kernel is still None: run `uname -r` inside the container "
                             "with lab.exec and keep its output."),
        (isinstance(answer, str),
         f"kernel is a {type(answer).__name__}; keep the text the command printed "
         "(ProbeResult.output)."),
        (answer.strip() == host_kernel if isinstance(answer, str) else False,
         "that is not the kernel release the container sees: did it come from inside the "
         "container (lab.exec), and did you keep only the command's output?"),
    ], praise="the container reports the engine host's kernel: containers share it.")
