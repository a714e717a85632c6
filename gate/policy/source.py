"""Where the policy set comes from, and when to load it again.

``PolicySource.current()`` returns the loaded set and reloads it when a file under the
folder (or the bundle) changed; it looks at the files at most once per ``interval``.
A change that does not load keeps the last good set in force (``last_error`` says why).

    >>> from gate.policy.loader import default_policy_dir
    >>> source = PolicySource(default_policy_dir())
    >>> source.current().catalog["digest"].id
    'GATE-REF-001'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from gate.errors import GateError
from gate.policy.loader import PolicySet, load_policy_set

log = logging.getLogger(__name__)


class PolicySource:
    def __init__(
        self, path: Path, overrides: Sequence[Path] = (), *, interval: float = 2.0
    ) -> None:
        self.path = path
        self.overrides = tuple(overrides)
        self.interval = interval
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._set = load_policy_set(path, self.overrides)
        self._checked = time.monotonic()
        self.last_error: GateError | None = None

    def current(self) -> PolicySet:
        if time.monotonic() - self._checked < self.interval:
            return self._set
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._set

    def _reload(self) -> None:
        """Load the changed files; a broken change keeps the last good set in force."""
        try:
            self._set = load_policy_set(self.path, self.overrides)
            self.last_error = None
        except GateError as exc:
            self.last_error = exc
            log.error("policy reload failed, keeping the previous set: %s", exc)

    def _file_stamp(self) -> tuple[tuple[str, int, int], ...]:
        roots = [self.path, *self.overrides]
        files = [
            p for root in roots for p in ([root] if root.is_file() else sorted(root.rglob("*")))
        ]
        stamps = []
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            stamps.append((str(file), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)
