"""The lint input document: what the Dockerfile policies read (docs/lint-input.md).

One document per Dockerfile. Strings are never null: a missing tag, digest, name or
flag is ``""``; a value that cannot be known (an ``ARG`` without a default) keeps its
``$VAR`` text and sets ``resolved`` to false. Line numbers are 1-based, as editors and
SARIF count them.

    >>> base_of("python:3.12", "python:3.12", True, {})["image"]["name"]
    'docker.io/library/python'
    >>> base_of("build", "build", True, {"build": 0})["kind"]
    'stage'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from gate.errors import InvalidReference
from gate.reference import parse_reference

SCHEMA = "gate.lint/v1"


class Var(TypedDict):
    """A name declared by ``ARG`` or ``ENV``; ``value`` is expanded, ``raw`` as written."""

    name: str
    raw: str
    value: str
    has_value: bool
    resolved: bool
    line: int


class Heredoc(TypedDict):
    name: str
    content: str
    fd: int


class Instruction(TypedDict):
    cmd: str  # upper case: RUN, COPY, ...
    sub_cmd: str  # the instruction under ONBUILD, else ""
    line: int
    end_line: int
    original: str
    value: list[str]  # the arguments as parsed (comment lines inside a continuation dropped)
    expanded: list[str]  # the same after quote removal and ARG/ENV substitution
    resolved: bool  # every variable in ``expanded`` was known
    json: bool  # exec form (["a", "b"])
    flags: dict[str, str]  # --from, --chown, --chmod, --platform, --link, --checksum, ...
    mounts: list[dict[str, str]]  # each RUN --mount=type=cache,target=/x as an object
    heredocs: list[Heredoc]
    command: str  # RUN: the shell text, heredoc bodies included; "" otherwise
    vars: list[Var]  # ARG and ENV declarations
    sources: list[str]  # COPY / ADD sources, expanded ("<<EOF" for a heredoc)
    destination: str  # COPY / ADD destination


class ImageRef(TypedDict):
    original: str
    registry: str
    repository: str
    name: str  # registry/repository
    tag: str
    digest: str
    normalized: str


class Base(TypedDict):
    raw: str  # as written after FROM
    text: str  # after ARG substitution
    resolved: bool
    kind: str  # image | stage | scratch | unresolved | invalid
    stage: int  # the stage built on when kind is "stage", else -1
    image: ImageRef | None  # when kind is "image"


class User(TypedDict):
    value: str
    line: int
    resolved: bool
    stage: int  # the stage whose USER this is (an ancestor when inherited)


class Stage(TypedDict):
    index: int
    name: str  # the AS alias, lower case; "" when none
    line: int
    end_line: int
    platform: str
    is_final: bool
    in_final_image: bool  # the final stage and every stage it is built FROM
    base: Base
    origin: Base  # the base at the root of the FROM chain (never of kind "stage")
    user: User | None  # the USER in effect at the end of the stage, inherited through FROM
    instructions: list[Instruction]


class IgnorePattern(TypedDict):
    pattern: str
    exclude: bool  # false for a "!" re-include
    regex: str
    line: int


class DockerIgnore(TypedDict):
    file: str
    patterns: list[IgnorePattern]


class LintInput(TypedDict):
    schema: str
    file: str
    escape: str
    directives: dict[str, str]
    args: list[Var]  # global ARGs, declared before the first FROM
    stages: list[Stage]
    dockerignore: DockerIgnore | None


def image_ref(text: str) -> ImageRef | None:
    """The normalised reference (Docker Hub names expanded), or None when it is invalid."""
    try:
        ref = parse_reference(text)
    except InvalidReference:
        return None
    return {
        "original": text,
        "registry": ref.registry,
        "repository": ref.repository,
        "name": ref.name,
        "tag": ref.tag or "",
        "digest": ref.digest or "",
        "normalized": ref.normalized,
    }


def base_of(raw: str, text: str, resolved: bool, stage_names: Mapping[str, int]) -> Base:
    """What a ``FROM`` builds on: an earlier stage, scratch, or an image."""
    base: Base = {
        "raw": raw,
        "text": text,
        "resolved": resolved,
        "kind": "unresolved",
        "stage": -1,
        "image": None,
    }
    if not resolved:
        return base
    if text.lower() in stage_names:
        return {**base, "kind": "stage", "stage": stage_names[text.lower()]}
    if text.lower() == "scratch":
        return {**base, "kind": "scratch"}
    image = image_ref(text)
    return {**base, "kind": "image" if image else "invalid", "image": image}
