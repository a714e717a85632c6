"""Build stages out of BuildKit's instructions: scopes of ARG and ENV, bases, USER.

Scoping follows BuildKit: global ``ARG`` values (before the first ``FROM``) are seen by
``FROM`` lines only, unless a stage re-declares the name (``ARG NAME``) and so takes
the global default; ``ENV`` is inherited by a stage built ``FROM`` another stage,
``ARG`` is not. ``ENV`` wins over ``ARG`` of the same name.

    >>> from gate.lint.instructions import parse_string
    >>> b = StageBuilder("\\\\")
    >>> for c in parse_string("FROM a AS x\\nUSER app\\nFROM x\\n"):
    ...     b.start_stage(c) if c.cmd == "FROM" else b.add(c)
    >>> [s["user"]["value"] for s in b.finish()]
    ['app', 'app']
"""

from __future__ import annotations

from gate.lint.document import Base, Instruction, Stage, Var, base_of
from gate.lint.instructions import Command, instruction, variables
from gate.lint.variables import expand

_ENV_MAP = dict[str, "str | None"]


class StageBuilder:
    def __init__(self, escape: str) -> None:
        self.escape = escape
        self.stages: list[Stage] = []
        self._global: _ENV_MAP = {}
        self._names: dict[str, int] = {}
        self._args: _ENV_MAP = {}
        self._env: _ENV_MAP = {}
        self._stage_env: list[_ENV_MAP] = []

    def global_arg(self, command: Command) -> list[Var]:
        """An ``ARG`` before the first ``FROM``: visible to every ``FROM`` line."""
        declared = variables(command, self._global, self.escape, {})
        for var in declared:
            self._global[var["name"]] = var["value"] if var["resolved"] else None
        return declared

    def start_stage(self, command: Command) -> None:
        self._close_stage()
        words = list(command.value)
        name = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else ""
        text, resolved = expand(words[0], self._global, self.escape)
        base = base_of(words[0], text, resolved, self._names)
        flags = instruction(command, self._global, self.escape)["flags"]
        self._args = {}
        self._env = dict(self._stage_env[base["stage"]]) if base["kind"] == "stage" else {}
        self.stages.append(
            {
                "index": len(self.stages),
                "name": name,
                "line": command.start_line,
                "end_line": command.end_line,
                "platform": flags.get("platform", ""),
                "is_final": False,
                "in_final_image": False,
                "base": base,
                "origin": base,
                "user": None,
                "instructions": [],
            }
        )
        if name:
            self._names[name] = len(self.stages) - 1

    def add(self, command: Command) -> None:
        """An instruction of the current stage; ARG and ENV update the scope after it."""
        scope = {**self._args, **self._env}
        item: Instruction = instruction(command, scope, self.escape)
        stage = self.stages[-1]
        if item["cmd"] in ("ARG", "ENV"):
            item["vars"] = variables(command, scope, self.escape, self._global)
            target = self._args if item["cmd"] == "ARG" else self._env
            for var in item["vars"]:
                target[var["name"]] = var["value"] if var["resolved"] else None
        if item["cmd"] == "USER" and item["expanded"]:
            stage["user"] = {
                "value": item["expanded"][0],
                "line": item["line"],
                "resolved": item["resolved"],
                "stage": stage["index"],
            }
        stage["instructions"].append(item)

    def finish(self) -> list[Stage]:
        """The stages, with final-image membership, origins and inherited users filled in."""
        self._close_stage()
        for stage in self.stages:
            parent = self._parent(stage)
            if parent is not None:
                stage["origin"] = parent["origin"]
                if stage["user"] is None:
                    stage["user"] = parent["user"]
        if self.stages:
            self.stages[-1]["is_final"] = True
            current: Stage | None = self.stages[-1]
            while current is not None:
                current["in_final_image"] = True
                current = self._parent(current)
        return self.stages

    def _parent(self, stage: Stage) -> Stage | None:
        base: Base = stage["base"]
        return self.stages[base["stage"]] if base["kind"] == "stage" else None

    def _close_stage(self) -> None:
        if len(self._stage_env) < len(self.stages):
            self._stage_env.append(dict(self._env))
