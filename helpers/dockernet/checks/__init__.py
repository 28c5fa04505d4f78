"""Exercise self-checks: they say what is wrong, never the answer.

A lesson's checks live in ``checks/lessonNN.py`` and return a :class:`CheckResult`,
which shows as a green tick or a red cross with a hint. Checks never raise for a
wrong answer (a learner is expected to be wrong at first). Solution cells end with
``.require()``, which does raise, so a solution that stops solving fails CI.

>>> verdict([(True, "the container runs"), (False, "curl used the name, not the IP")])
CheckResult(passed=False, hint='curl used the name, not the IP')
"""

from __future__ import annotations

import html
from dataclasses import dataclass

#: Printed with every failed check; the notebook tests look for it.
FAILED_MARK = "✗ Not yet"
PASSED_MARK = "✓ Well done"


@dataclass
class CheckResult:
    """A self-check's verdict: ``passed``, and a hint when it did not."""

    passed: bool
    hint: str = ""
    praise: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def require(self) -> "CheckResult":
        """Raise :class:`~dockernet.ExpectationFailed` with the hint unless it passed.

        Solution cells end with it, so CI fails when a solution stops solving its
        exercise; a learner's own self-check cell only shows the verdict.

        >>> CheckResult(True, praise="db reaches helloworld2").require()
        CheckResult(passed=True, praise='db reaches helloworld2')
        >>> CheckResult(False, "db is not attached").require()
        Traceback (most recent call last):
        ...
        dockernet.errors.ExpectationFailed: the solution does not pass its self-check: db is not attached
        """
        if not self.passed:
            from ..errors import ExpectationFailed

            raise ExpectationFailed(f"the solution does not pass its self-check: {self.hint}")
        return self

    def __str__(self) -> str:
        if self.passed:
            return f"{PASSED_MARK}{': ' + self.praise if self.praise else ''}"
        return f"{FAILED_MARK}: {self.hint}"

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.passed else "#b42318"
        return f"<div style='color:{colour};font-weight:bold'>{html.escape(str(self))}</div>"

    def __repr__(self) -> str:
        if self.passed:
            return f"CheckResult(passed=True, praise={self.praise!r})"
        return f"CheckResult(passed=False, hint={self.hint!r})"


def container_or_none(lab, name):
    """The lab's container called ``name``, or ``None`` when the learner has not made it yet."""
    from ..errors import UnknownObject

    try:
        return lab.get_container(name)
    except UnknownObject:
        return None


def verdict(conditions, praise: str = "") -> CheckResult:
    """The first failed ``(condition, hint)`` pair decides; all true means passed.

    Args:
        conditions: ``(bool, hint)`` pairs in the order a learner would fix them.
        praise (str): what to say when every condition holds.
    """
    for condition, hint in conditions:
        if not condition:
            return CheckResult(False, hint)
    return CheckResult(True, praise=praise)


def fail(claim: str) -> None:
    """Raise :class:`~dockernet.ExpectationFailed`: a lesson's claim does not hold here."""
    from ..errors import ExpectationFailed

    raise ExpectationFailed(claim)


def choice(answer, wrong_hints: dict, right: str, name: str = "prediction") -> CheckResult | None:
    """Judge a one-letter answer: ``None`` when it is ``right``, else the failed verdict.

    A wrong letter gets its hint from ``wrong_hints``; anything else says how to answer.

    >>> choice(" B ", {"a": "Look again at section 2."}, right="b") is None
    True
    >>> choice("a", {"a": "Look again at section 2."}, right="b").hint
    'Look again at section 2.'
    >>> choice(3, {"a": "..."}, right="b").hint
    '`prediction` is 3: set it to one letter, a or b.'
    """
    letters = sorted({*wrong_hints, right})
    letter = answer.strip().lower() if isinstance(answer, str) else answer
    if letter == right:
        return None
    if letter in wrong_hints:
        return CheckResult(False, wrong_hints[letter])
    spelled = ", ".join(letters[:-1]) + f" or {letters[-1]}"
    return CheckResult(False, f"`{name}` is {answer!r}: set it to one letter, {spelled}.")
