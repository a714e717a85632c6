"""An image's facts as input document parts, converted for gate_regorus once per facts object.

The webhook keeps an image's facts for minutes and decides on them again for each review
of a Pod that runs the image. Converting the facts into regorus values was a quarter of a
decision with 1,000 scan findings and 40% with 10,000 (bench/eval.py). :class:`ConvertedFacts`
keeps each facts object's parts (:func:`gate.policy.document.facts_input`) as
``gate_regorus.Converted`` values for as long as the object lives (a weak reference), so a
decision on facts already seen converts only the rest of its document. Facts objects are
frozen dataclasses of immutable fields; their parts are never changed once built.

    >>> from gate.facts.interface import ImageFacts
    >>> facts = ImageFacts()
    >>> kept = ConvertedFacts()
    >>> kept.parts(facts) is kept.parts(facts), len(kept)
    (True, 1)
    >>> del facts
    >>> len(kept)
    0
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any

from gate.facts.interface import ImageFacts
from gate.policy.document import facts_input
from gate.policy.interpreter import converted

Kept = tuple["weakref.ref[ImageFacts]", dict[str, Any]]


class ConvertedFacts:
    """Converted parts by facts object, each let go with its object."""

    def __init__(self) -> None:
        self._kept: dict[int, Kept] = {}

    def parts(self, facts: ImageFacts) -> dict[str, Any]:
        """``facts``' parts of an input document, converted the first time they are asked for."""
        key = id(facts)
        kept = self._kept.get(key)
        if kept is not None and kept[0]() is facts:
            return kept[1]
        parts = {name: converted(part) for name, part in facts_input(facts).items()}
        self._kept[key] = (weakref.ref(facts, partial(self._forget, key)), parts)
        return parts

    def __len__(self) -> int:
        return len(self._kept)

    def _forget(self, key: int, gone: weakref.ref[ImageFacts]) -> None:
        kept = self._kept.get(key)
        if kept is not None and kept[0] is gone:
            self._kept.pop(key, None)
