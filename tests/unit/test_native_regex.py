"""gate_regorus answers ``regex.match`` from expressions it keeps compiled per thread
(``native/gate_regorus/src/regex_match.rs``, issue 14): the same answers and the same
failures as regorus's builtin, which regorus's own binding still runs."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from gate.policy.interpreter import new_interpreter
from tests.conftest import require_module

require_module("gate_regorus")

POLICY = """package t

matched := regex.match(input.pattern, input.value)

all_matched := [regex.match(p, v) | some p in input.patterns; some v in input.values]

mocked if regex.match("x", "y") with regex.match as true
"""

CASES: list[tuple[Any, Any]] = [
    ("^a+$", "aaa"),
    ("^a+$", "aab"),
    ("", ""),
    ("(?i)^HELLO", "hello world"),
    ("(?m)^token=", "a\ntoken=1"),
    (r"\A[a-z]+\z", "abc\n"),
    (r"^\p{Greek}+$", "αβγ"),
    (r"\d{3}", "٣٤٥"),  # Unicode digits, as the regex crate reads \d
    (r"ghp_[0-9A-Za-z]{36}", "x" * 5_000 + "ghp_" + "a" * 36),
    ("é", "café"),
]

FAILURES: list[tuple[Any, Any]] = [
    ("(unclosed", "x"),  # does not compile
    ("a{1000}{1000}", "a"),  # over regorus's size limit
    (1, "x"),
    ("x", 1),
    ("x", None),
    (["x"], "x"),
]


def _both() -> list[Any]:
    return [new_interpreter(name) for name in ("gate_regorus", "regorus")]


def _loaded(interpreter: Any) -> Any:
    interpreter.add_policy("t.rego", POLICY)
    return interpreter


def _outcome(interpreter: Any, rule: str, document: dict[str, Any]) -> Any:
    try:
        return ("value", interpreter.evaluate(rule, document))
    except RuntimeError:
        return ("error", None)


@pytest.mark.parametrize(("pattern", "value"), CASES + FAILURES)
def test_the_same_answer_as_the_builtin(pattern: Any, value: Any) -> None:
    native, builtin = (_loaded(i) for i in _both())
    document = {"pattern": pattern, "value": value}
    for _ in range(2):  # compiled, then kept
        assert _outcome(native, "data.t.matched", document) == _outcome(
            builtin, "data.t.matched", document
        )


@pytest.mark.parametrize(("pattern", "value"), FAILURES)
def test_a_bad_argument_fails_the_evaluation(pattern: Any, value: Any) -> None:
    native = _loaded(new_interpreter("gate_regorus"))
    with pytest.raises(RuntimeError, match="regex"):
        native.evaluate("data.t.matched", {"pattern": pattern, "value": value})


def test_an_undefined_argument_is_undefined_and_with_still_replaces_it() -> None:
    native, builtin = (_loaded(i) for i in _both())
    for interpreter in (native, builtin):
        assert interpreter.evaluate("data.t.matched", {"pattern": "x"}) is None
        assert interpreter.evaluate("data.t.mocked", {}) is True


def test_more_expressions_than_the_cache_holds_keep_their_answers() -> None:
    native, builtin = (_loaded(i) for i in _both())
    document = {
        "patterns": [f"^v{i}$" for i in range(600)],
        "values": ["v1", "v599", "v600"],
    }
    for _ in range(2):
        answer = native.evaluate("data.t.all_matched", document)
        assert answer == builtin.evaluate("data.t.all_matched", document)
        assert answer.count(True) == 2


def test_threads_keep_their_own_expressions() -> None:
    answers: list[Any] = []

    def decide(index: int) -> None:
        native = _loaded(new_interpreter("gate_regorus"))
        for round_ in range(50):
            value = f"v{(index + round_) % 7}"
            answers.append(
                (
                    native.evaluate("data.t.matched", {"pattern": f"^v{index}$", "value": value}),
                    value == f"v{index}",
                )
            )

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 350
    assert all(got == expected for got, expected in answers)


def _resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_expressions_from_the_input_cannot_grow_a_worker_without_bound() -> None:
    """A policy that matches with expressions the input names: each kept expression's lazy
    DFA may explore thousands of states on a hostile text. With the regex crate's default
    cache (2 MiB per direction) these 90 expressions grew the process by about 250 MB;
    the kept caches are bounded (native/gate_regorus/src/regex_match.rs)."""
    native = new_interpreter("gate_regorus")
    native.add_policy(
        "t.rego", "package t\n\nm := [regex.match(p, input.text) | some p in input.patterns]\n"
    )
    letters = random.Random(7)
    text = "".join(letters.choice("ab") for _ in range(30_000))
    before = _resident_mb()
    for batch in range(3):
        patterns = [
            f"(a|b)*a(a|b){{{12 + k % 4}}}{'ab'[k % 2]}{batch}x{k}|(a|b)*b(a|b){{{12 + k % 3}}}a$"
            for k in range(30)
        ]
        assert native.evaluate("data.t.m", {"patterns": patterns, "text": text}) == [False] * 30
    assert _resident_mb() - before < 100
