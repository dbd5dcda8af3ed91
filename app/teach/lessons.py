"""Lessons: ordered permalinks, each part asking what the lesson teaches, played as graded exercises.

A lesson states its goal as the points it teaches (questions.Kind.point), and each part asks the
kinds of question that test them; the simulator decides every answer. Answers lock: they travel in
a signed token (tokens.py), and the browser keeps the newest token of its attempt in a cookie, so
that an older page (Back) or an edited address cannot answer a part again. The content is in
curriculum.py; this module plays it. Pure: no request; the secret, the cookie and the clock are
arguments. Every link of a lesson is part of the permalink corpus."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..permalink import canonical_query, canonical_url
from ..present.summary import MEM_NAMES, MT_NAMES, VMA_NAMES, accesses, host_words, plain
from ..sim import MODELS, Scenario, simulate
from ..sim.trace import Trace
from . import questions, tokens
from .course import Lesson, Part
from .curriculum import LESSONS


class LessonError(ValueError):
    """Bad lesson progress in the URL: the message is one sentence."""


def cookie_name(lid: str) -> str:
    return f"s2viz-lesson-{lid}"


def scenario(part: Part) -> tuple[str, Scenario]:
    mid, parsed = part.parsed()
    return mid, parsed.scenario


@lru_cache(maxsize=256)
def trace(part: Part) -> Trace:
    """A part's trace (a pure function of its link, so kept: grading a class's codes reads each often)."""
    return simulate(*scenario(part))


def key(part: Part) -> tuple[str, ...]:
    """The right answer to each question of a part, from the simulator."""
    tr = trace(part)
    return tuple(k.key(tr) or "" for k in part.kinds())


CHANGED = {"mt": ("the VMA's pgprot is now", lambda sc: MT_NAMES[sc.mt]),
           "mem": ("the memory behind it is now", lambda sc: MEM_NAMES[sc.mem]),
           "pg": ("the host's leaf size is now", lambda sc: (sc.pg or sc.g).upper()),
           "slot": ("the memslot's flags are now", lambda sc: ", ".join(sorted(sc.slot)) or "none"),
           "vm": ("the VM's options are now", lambda sc: ", ".join(sorted(sc.vm)) or "none"),
           "remap": ("the VMA is now mapped", lambda sc: "after registration" if sc.remap else "before registration")}


def changes(before: tuple[str, Scenario] | None, now: tuple[str, Scenario]) -> str:
    """What differs from the part before, in words (the first part: nothing to compare)."""
    if before is None:
        return ""
    (ma, a), (mb, b) = before, now
    out = []
    if ma != mb:
        out.append(f"the kernel is now {MODELS[mb].title.split(':')[0]} ({mb}) instead of {ma}")
    if a.host != b.host:
        out.append(f"the host is now {host_words(b.host)}")
    for flag in VMA_NAMES:
        if (flag in a.vma) != (flag in b.vma):
            out.append(f"the VMA {'now has' if flag in b.vma else 'no longer has'} {VMA_NAMES[flag]}")
    for attr, (words, value) in CHANGED.items():
        if getattr(a, attr) != getattr(b, attr):
            out.append(f"{words} {value(b)}")
    if a.faults != b.faults or a.events != b.events:
        out.append(f"now {accesses(b)}")
    return ("Changed from the part before: " + "; ".join(out) + ".") if out else "The same scenario as before."


@dataclass(frozen=True)
class Play:
    """A lesson being played: its progress (None before the first answer) and the part shown."""

    lesson: Lesson
    progress: tokens.Progress | None
    current: int                  # 1-based
    secret: str

    @property
    def answers(self) -> tuple[str, ...]:
        return self.progress.answers if self.progress else ()

    @property
    def token(self) -> str:
        return tokens.token(self.progress, self.secret) if self.progress else ""

    @property
    def total(self) -> int:
        return len(self.lesson.parts)

    @property
    def next_part(self) -> int:
        """The part that takes the next answers (the last part once all are answered)."""
        return min(len(self.answers) + 1, self.total)

    @property
    def done(self) -> bool:
        return len(self.answers) == self.total

    def href(self, part: int | None = None) -> str:
        """A part's address with this progress; p is left out for the part to answer next."""
        part = part or self.current
        query = "&".join(q for q in (f"t={self.token}" if self.token else "",
                                     "" if part == self.next_part else f"p={part}") if q)
        return f"/lessons/{self.lesson.id}/" + (f"?{query}" if query else "")

    def result_code(self) -> str | None:
        return tokens.result_code(self.progress, self.secret) if self.done else None

    def parts(self) -> list[dict]:
        """Per part: its scenario in words, what changed, and, once answered, each question's answer,
        the key, a paragraph on why, and the trace at the step that decides it."""
        out, before = [], None
        for i, part in enumerate(self.lesson.parts, 1):
            mid, sc = scenario(part)
            row = {"n": i, "model": mid, "href": self.href(i), "text": part.text, "current": i == self.current,
                   "setting": " ".join(x for x in (plain(MODELS[mid].title.split(":")[0], mid, sc), part.setting) if x),
                   "change": changes(before, (mid, sc)), "answered": i <= len(self.answers)}
            before = (mid, sc)
            row["questions"] = [{"n": j, "kind": k, "name": f"q{j}"} for j, k in enumerate(part.kinds(), 1)]
            if row["answered"]:
                self._reveal(row, part, self.answers[i - 1].split("."))
            out.append(row)
        return out

    def _reveal(self, row: dict, part: Part, given: list[str]) -> None:
        tr = trace(part)
        mid, sc = scenario(part)
        back = f"&lesson={self.lesson.id}.{row['n']}"
        total = len(tr.all_steps())
        for q, g in zip(row["questions"], given, strict=True):
            k = q["kind"]
            focus = k.focus(tr)
            q.update(given=g, key=k.key(tr) or "", explain=k.explain(tr), focus=focus,
                     see=_at(mid, sc, focus, back, total))
            q["right"] = q["given"] == q["key"]
        row["right"] = all(q["right"] for q in row["questions"])
        row["reveal"] = _at(mid, sc, questions.decider(tr), back, total)
        row["plain"] = canonical_url(mid, sc)
        row["series"] = series_link(sc) if self.lesson.series_view else ""

    def score(self, parts: list[dict]) -> tuple[int, int]:
        """(parts right, questions right) so far."""
        answered = [p for p in parts if p["answered"]]
        return sum(p["right"] for p in answered), sum(q["right"] for p in answered for q in p["questions"])


def _at(mid: str, sc: Scenario, step: int | None, back: str, total: int) -> str:
    """The trace at a step (the last is the address without one), with the way back to the part."""
    url = canonical_url(mid, sc, step if step and step < total else None)
    return url + (back if "?" in url else "?" + back[1:])


def series_link(sc: Scenario) -> str:
    """The series view of a part's scenario: every revision of the series, and the kernels around it."""
    query = canonical_query(sc)
    return "/series/" + (f"?{query}" if query else "")


def _progress(lesson: Lesson, t: str, secret: str) -> tokens.Progress | None:
    if not t:
        return None
    try:
        p = tokens.read_token(lesson.id, t, secret)
    except tokens.TokenError as e:
        raise LessonError(str(e)) from None
    if p.edition != lesson.edition:
        raise LessonError("This lesson's questions changed since that progress was saved: start it again.")
    if len(p.answers) > len(lesson.parts) or any(
            len(a.split(".")) != len(part.asks) for a, part in zip(p.answers, lesson.parts, strict=False)):
        raise LessonError("The lesson's progress does not fit this lesson's questions.")
    return p


def remembered(lesson: Lesson, cookie: str | None, secret: str) -> tokens.Progress | None:
    """The newest progress this browser keeps for the lesson (a cookie that does not read is none)."""
    try:
        return _progress(lesson, cookie or "", secret)
    except LessonError:
        return None


def play(lesson: Lesson, args, cookie: str | None, secret: str) -> tuple[Play, str | None]:
    """The Play the query names, and the address to redirect to instead: the canonical spelling, or
    the newest state of this browser's attempt when the query shows an older one (after Back)."""
    total = len(lesson.parts)
    p = args.get("p", "")
    if p and (not p.isdigit() or not 1 <= int(p) <= total):
        raise LessonError(f"The part (p) must be a number from 1 to {total}.")
    progress = _progress(lesson, args.get("t", ""), secret)
    newest = remembered(lesson, cookie, secret)
    if newest and (progress is None or (newest.attempt == progress.attempt and
                                        len(newest.answers) > len(progress.answers))):
        progress = newest
    game = Play(lesson, progress, int(p) if p else min(len(progress.answers if progress else ()) + 1, total), secret)
    want = game.href()
    got = "&".join(f"{k}={v}" for k, v in args.items())
    return game, (None if want == f"/lessons/{lesson.id}/" + (f"?{got}" if got else "") else want)


def lock(lesson: Lesson, args, cookie: str | None, secret: str, now: float) -> tuple[Play, bool]:
    """Record the answers to the next part: (the new Play, True), or (the newest Play, False) when
    this part's answers are already locked in this browser. LessonError: one sentence."""
    progress = _progress(lesson, args.get("t", ""), secret)
    newest = remembered(lesson, cookie, secret)
    p = args.get("p", "")
    answered = len(progress.answers) if progress else 0
    if not p.isdigit() or int(p) != answered + 1 or answered >= len(lesson.parts):
        raise LessonError("Only the next part of the lesson takes answers: answers lock once given.")
    if newest and (progress is None or newest.attempt != progress.attempt or
                   len(newest.answers) > len(progress.answers)):
        return Play(lesson, newest, int(p), secret), False
    part = lesson.parts[answered]
    given = []
    for j, kind in enumerate(part.kinds(), 1):
        letters = questions.normal(kind, "".join(args.getlist(f"q{j}")) if hasattr(args, "getlist")
                                   else args.get(f"q{j}", ""))
        if not letters:
            raise LessonError(f"Question {j} of part {p} has no answer: answer every question of the part.")
        if any(c not in kind.choices for c in letters) or (len(letters) > 1 and not kind.multi):
            raise LessonError(f"Question {j} takes {'letters' if kind.multi else 'one letter'} from "
                              f"{''.join(kind.choices)}.")
        given.append(letters)
    attempt = progress.attempt if progress else tokens.new_attempt(now)
    new = tokens.Progress(lesson.id, lesson.edition, attempt, (*(progress.answers if progress else ()),
                                                               ".".join(given)))
    return Play(lesson, new, int(p), secret), True


def verify(code: str, secret: str) -> dict:
    """What a result code says: the lesson, when the attempt started, each part's answers graded
    against this release's keys, and the score. LessonError: one sentence."""
    try:
        p = tokens.read_code(code, secret)
    except tokens.TokenError as e:
        raise LessonError(str(e)) from None
    lesson = by_id(p.lesson)
    if lesson is None:
        raise LessonError(f"The code names no lesson of this site ({p.lesson[:40]}).")
    if p.edition != lesson.edition:
        raise LessonError("The code was issued for an earlier edition of this lesson's questions.")
    if len(p.answers) != len(lesson.parts):
        raise LessonError("The code is not of a finished lesson.")
    game = Play(lesson, p, 1, secret)
    parts = game.parts()
    right, qright = game.score(parts)
    return {"lesson": lesson, "started": p.started, "parts": parts, "right": right, "qright": qright,
            "questions": sum(len(x["questions"]) for x in parts), "code": code.strip()}


def by_id(lid: str) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.id == lid), None)


def links() -> list[str]:
    return [part.link for lesson in LESSONS for part in lesson.parts]
