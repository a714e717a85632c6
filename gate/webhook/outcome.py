"""From image decisions to the admission outcome: allowed, message, warnings, annotations.

Each violation gets its mode (:mod:`gate.webhook.modes`): ``enforce`` ones deny and are
listed in the message by container and image, with the fix; ``warn`` ones become
Kubernetes warnings; ``audit`` ones only reach the log and the audit annotations. Errors
take the namespace's mode and, in ``enforce``, deny unless fail-open is set. Warnings
keep the API server's limits: at most 120 characters each, 4096 in all. The message is at
most 8,000 characters and always names the first problems: each line is cut to
``LINE_CHARS`` (an image to ``IMAGE_CHARS``), so one very long image string or text never
pushes every problem out.

    >>> from gate.policy.interface import Finding
    >>> from gate.webhook.evaluator import ImageResult
    >>> from gate.webhook.workloads import Container
    >>> v = Finding("GATE-REF-001", "digest", "high", "digest required", "no digest", "pin it")
    >>> r = ImageResult((Container("web", "regular", "nginx"),), "nginx", "",
    ...                 Decision(allowed=False, violations=(v,)))
    >>> out = decide([r], namespace="dev", modes=ModeTable())
    >>> out.allowed, out.message.splitlines()[1]
    (False, '- container web, image nginx: [GATE-REF-001] digest required: no digest (fix: pin it)')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from gate.policy.interface import Decision
from gate.webhook.evaluator import ImageResult
from gate.webhook.logsize import clip
from gate.webhook.modes import Mode, ModeTable

WARNING_CHARS, WARNINGS_TOTAL, MESSAGE_CHARS = 120, 4096, 8000
LINE_CHARS, IMAGE_CHARS, CONTAINER_CHARS = 1000, 200, 80


@dataclass(frozen=True)
class Item:
    mode: Mode
    container: str
    image: str
    code: str  # the policy id, or "error:<kind>"
    text: str  # what is wrong (and how to fix it)

    def line(self) -> str:
        """The message line: container and image cut short, the whole line at most LINE_CHARS."""
        where = f"- {clip(self.container, CONTAINER_CHARS)}, image {clip(self.image, IMAGE_CHARS)}"
        return clip(f"{where}: [{self.code}] {self.text}", LINE_CHARS)


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    route: str  # enforce | warn | audit | fail-open | break-glass | exempt | skipped
    message: str = ""
    warnings: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)


def decide(
    results: Sequence[ImageResult],
    *,
    namespace: str,
    modes: ModeTable,
    fail_open: bool = False,
    break_glass: bool = False,
) -> Outcome:
    items = [item for result in results for item in _items(result, namespace, modes)]
    if break_glass:
        items = [Item(Mode.AUDIT, i.container, i.image, i.code, i.text) for i in items]
    denying = [i for i in items if i.mode is Mode.ENFORCE]
    errors_only = all(i.code.startswith("error:") for i in denying)
    opened = bool(denying) and fail_open and errors_only
    allowed = not denying or opened
    route = (
        "break-glass"
        if break_glass
        else "fail-open"
        if opened
        else modes.for_errors(namespace).value
    )
    shown = [i for i in items if i.mode is Mode.WARN or (opened and i.mode is Mode.ENFORCE)]
    notes = [f"{i.container}: [{i.code}] {i.text}" for i in shown]
    if opened:
        notes.insert(0, "gate could not decide; admitted because fail-open is set")
    if break_glass:
        notes.insert(
            0, f"break-glass: admitted without enforcement, {len(items)} finding(s) logged"
        )
    message = "" if allowed else _message(denying)
    return Outcome(
        allowed,
        route,
        message,
        fit_warnings(notes),
        tuple(items),
        _annotations(allowed, route, items),
    )


def _items(result: ImageResult, namespace: str, modes: ModeTable) -> list[Item]:
    decision: Decision = result.decision
    first = result.containers[0]
    where = f"{'' if first.kind == 'regular' else first.kind + ' '}container {first.name}"
    image = result.image
    items = [
        Item(
            modes.for_policy(namespace, v.policy_id, v.policy),
            where,
            image,
            v.policy_id,
            f"{v.title}: {v.message}" + (f" (fix: {v.remediation})" if v.remediation else ""),
        )
        for v in decision.violations
    ]
    for w in decision.warnings:
        mode = (
            Mode.AUDIT
            if modes.for_policy(namespace, w.policy_id, w.policy) is Mode.AUDIT
            else Mode.WARN
        )
        items.append(Item(mode, where, image, w.policy_id, f"{w.title}: {w.message}"))
    error_mode = modes.for_errors(namespace)
    for e in decision.errors:
        text = e.message + (f" (hint: {e.hint})" if e.hint else "")
        items.append(Item(error_mode, where, image, f"error:{e.kind}", text))
    return items


def _message(denying: Sequence[Item]) -> str:
    count = len(denying)
    lines = [f"gate denied the request: {count} problem{'s' * (count != 1)}"]
    size = len(lines[0])
    room = MESSAGE_CHARS - 60  # for the closing "... and N more" line
    for index, item in enumerate(denying):
        line = item.line()
        if size + 1 + len(line) > room:
            lines.append(f"... and {count - index} more (see gate's logs)")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def fit_warnings(notes: Sequence[str]) -> tuple[str, ...]:
    """Each note as printable ASCII of at most 120 characters; 4096 characters in all."""
    fitted: list[str] = []
    total = 0
    for index, note in enumerate(notes):
        text = _ascii(note)
        if len(text) > WARNING_CHARS:
            text = text[: WARNING_CHARS - 3].rstrip() + "..."
        if total + len(text) > WARNINGS_TOTAL - WARNING_CHARS:
            fitted.append(f"... and {len(notes) - index} more warnings (see gate's logs)")
            break
        fitted.append(text)
        total += len(text)
    return tuple(fitted)


def _ascii(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "replace").decode("ascii")
    return re.sub(r"[\x00-\x20\x7f]+", " ", flat).strip()


def _annotations(allowed: bool, route: str, items: Sequence[Item]) -> dict[str, str]:
    def codes(mode: Mode) -> str:
        return ",".join(sorted({i.code for i in items if i.mode is mode}))[:512]

    found = {"decision": "allow" if allowed else "deny", "mode": route}
    enforced = "denied-by" if not allowed else "failed-open-on"
    for mode, key in (
        (Mode.ENFORCE, enforced),
        (Mode.WARN, "warned-by"),
        (Mode.AUDIT, "audited-by"),
    ):
        if codes(mode):
            found[key] = codes(mode)
    return found
