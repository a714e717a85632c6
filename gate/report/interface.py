"""The renderer contract: one command's result, one output format, one method.

Every result gate prints (image decisions, Dockerfile lint results, Rego test results,
attest and verify reports, an audit run) has a table of renderers by format name
(``text``, ``table``, ``json``, ``sarif``, ``junit``), beside the code that makes the
result; ``--output`` names one (a test holds each subcommand's choices to its table), and
the CLI writes the result with it. Formats that are a document (JSON, SARIF, JUnit XML,
plain lines) are :class:`TextRenderer`: ``render`` returns the text, which the API and
the tests use as well; a rich table writes to the console.

    >>> class Count(TextRenderer[list[int]]):
    ...     def render(self, result): return f"{len(result)} items"
    >>> Count().render([1, 2])
    '2 items'
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Generic, TypeVar

from rich.console import Console

R = TypeVar("R", contravariant=True)


class Renderer(abc.ABC, Generic[R]):
    """Writes one kind of result in one format."""

    @abc.abstractmethod
    def write(self, result: R, console: Console) -> None:
        """Write ``result`` to ``console`` (the CLI's: standard output)."""


class TextRenderer(Renderer[R]):
    """A format that is a text document: ``write`` prints what ``render`` returns."""

    @abc.abstractmethod
    def render(self, result: R) -> str:
        """The document, without a final newline."""

    def write(self, result: R, console: Console) -> None:
        print(self.render(result), file=console.file)


Renderers = Mapping[str, Renderer[R]]
