"""What a lesson is made of: parts (a permalink, the questions it asks, a paragraph) and the
lesson's goal, as the points its questions test. The content itself is in curriculum.py."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..permalink import Parsed, parse_url
from . import questions
from .questions import Kind


@dataclass(frozen=True)
class Part:
    link: str
    text: str                     # the lesson's paragraph, shown after the reveal
    asks: tuple[str, ...]         # question kinds (questions.KINDS)
    setting: str = ""             # what the scenario adds in words (alignment, the guest's instruction)

    def parsed(self) -> tuple[str, Parsed]:
        return parse_url(self.link)

    @property
    def model(self) -> str:
        return urlsplit(self.link).path.strip("/")

    def kinds(self) -> list[Kind]:
        return [questions.KINDS[k] for k in self.asks]


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    intro: str
    goal: str                     # the learning goal, in words
    points: tuple[str, ...]       # what the goal tests, as question points (questions.Kind.point)
    parts: tuple[Part, ...]
    edition: int = 2              # bumped when the questions change: older tokens then no longer count
    series_view: bool = False     # each reveal also links the series view of the part's scenario
