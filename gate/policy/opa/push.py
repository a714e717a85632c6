"""Upload gate's policy set to OPA: the data document and the modules that changed.

The data goes up one PUT per top-level key of ``PolicySet.data`` (a JSON patch for a key
whose value is not an object); a module's id in OPA is its path in the set. Only what
differs from what OPA holds is sent (OPA recompiles every module on each upload), and
gate modules OPA still holds from an older set (package ``gate.*``) are deleted, so a
renamed file cannot leave a conflicting rule behind. Everything goes through the
client's public methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opa_client import OpaClient

from gate.policy.interface import EngineError
from gate.policy.loader import PolicySet
from gate.policy.opa.errors import Calls, OpaUnavailable

GATE_PACKAGE = ("data", "gate")


class Pusher:
    def __init__(self, client: OpaClient, calls: Calls) -> None:
        self.client, self.calls = client, calls

    def push(self, policy_set: PolicySet, previous: PolicySet | None) -> None:
        """Make OPA hold ``policy_set``; ``previous`` is what it holds, if gate knows."""
        self._push_data(policy_set, previous)
        wanted = {module.path: module.source for module in policy_set.policy_modules}
        if previous is None:  # what OPA holds now: a restarted gate re-uploads only changes
            held = self.held_gate_modules()
        else:
            held = {m.path: m.source for m in previous.policy_modules}
        changed = {path: src for path, src in wanted.items() if held.get(path) != src}
        self._push_modules(changed, set(held) - set(wanted))

    def holds(self, module_id: str) -> bool:
        """Does OPA hold the module ``module_id`` (or did it restart and forget it)?"""
        try:
            self.calls.run(f"read policy {module_id}", self.client.get_policy, module_id)
        except OpaUnavailable:
            raise
        except EngineError:
            return False
        return True

    def held_gate_modules(self) -> dict[str, str]:
        """Id and source of every module OPA holds in the ``gate`` package tree."""
        info = self.calls.run("list the policies OPA holds", self.client.get_policies_info)
        root = f"{self.client.root_url}/{'/'.join(GATE_PACKAGE)}"
        held: dict[str, str] = {}
        for module_id, about in info.items():
            path = str(about.get("path", ""))
            if path == root or path.startswith(f"{root}/"):
                policy = self.calls.run(
                    f"read policy {module_id}", self.client.get_policy, module_id
                )
                held[str(module_id)] = str((policy.get("result") or {}).get("raw", ""))
        return held

    def _push_data(self, policy_set: PolicySet, previous: PolicySet | None) -> None:
        client, run = self.client, self.calls.run
        for key, value in policy_set.data.items():
            if previous is not None and key in previous.data and previous.data[key] == value:
                continue
            document: Any = json.loads(json.dumps(value))
            if isinstance(document, dict):
                run(f"write data.{key}", client.update_or_create_data, document, key)
            else:  # the client writes objects only: a JSON patch at the key writes the rest
                patch = [{"op": "add", "path": "", "value": document}]
                run(f"write data.{key}", client.patch_data, key, patch)
        if previous is not None:
            for key in set(previous.data) - set(policy_set.data):
                run(f"delete data.{key}", client.delete_data, key)

    def _push_modules(self, wanted: Mapping[str, str], stale: set[str]) -> None:
        """Upload ``wanted`` and delete ``stale`` modules, in whatever order OPA accepts.

        OPA compiles the whole set on every change, so a module that calls a function of a
        module not uploaded yet (or whose callee is deleted first) is refused. Repeating
        the refused operations until none succeeds more finds a working order without a
        dependency graph; what still fails then is a real error.
        """
        pending: dict[tuple[str, str], str] = {("put", path): src for path, src in wanted.items()}
        pending.update({("delete", path): "" for path in stale})
        while pending:
            before = len(pending)
            refused: list[EngineError] = []
            for (op, path), text in list(pending.items()):
                try:
                    self._apply(op, path, text)
                except OpaUnavailable:
                    raise  # OPA unreachable or refusing us: retrying the rest is futile
                except EngineError as exc:
                    refused.append(exc)
                    continue
                del pending[(op, path)]
            if len(pending) == before:
                raise refused[0]  # a whole round without progress: a real error

    def _apply(self, op: str, path: str, text: str) -> None:
        client, run = self.client, self.calls.run
        if op == "put":
            upload = client.update_policy_from_string
            run(f"upload policy {path}", upload, text, path, rego_compat=False)
        else:
            run(f"delete policy {path}", client.delete_policy, path)
