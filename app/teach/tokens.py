"""Signed lesson progress and result codes.

A lesson's answers travel in the address as a token, `<edition>~<attempt>~<answers>~<mac>`, and a
finished lesson gives a result code, `<lesson>~<edition>~<attempt>~<answers>~<mac>`: the answers
in the clear, an HMAC-SHA256 over them keyed by the server's secret (S2VIZ_SECRET), so that an
edited address or code is refused. `attempt` is when the attempt started (seconds, base 36) and
three random characters. `answers`: one group per part, in order, joined by "-"; within a part one
answer per question, joined by "."; an answer is its letters in order (several for a question
that takes more than one). Pure: the secret and the clock come in as arguments.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

# The secret a server uses when S2VIZ_SECRET is not set: fine on one's own machine, and said so on
# the verification page, since anyone who reads this file can sign with it.
DEFAULT_SECRET = "s2viz-local-only"
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAC_CHARS = 16
_ATTEMPT = re.compile(r"^[0-9a-z]{7,10}$")
_ANSWERS = re.compile(r"^([A-Z]+(\.[A-Z]+)*(-[A-Z]+(\.[A-Z]+)*)*)?$")
_MAC = re.compile(rf"^[0-9a-f]{{{MAC_CHARS}}}$")


class TokenError(ValueError):
    """A token or code that cannot be read or was not signed here: the message is one sentence."""


@dataclass(frozen=True)
class Progress:
    lesson: str
    edition: int
    attempt: str
    answers: tuple[str, ...]      # per part answered: "B" or "B.AC"

    @property
    def started(self) -> datetime:
        return started(self.attempt)


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = DIGITS[r] + out
        if not n:
            return out


def new_attempt(now: float) -> str:
    return _b36(int(now)) + "".join(secrets.choice(DIGITS) for _ in range(3))


def started(attempt: str) -> datetime:
    return datetime.fromtimestamp(int(attempt[:-3], 36), UTC)


def _mac(secret: str, purpose: str, *fields: str) -> str:
    msg = "\x1f".join((purpose, *fields)).encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:MAC_CHARS]


def token(p: Progress, secret: str) -> str:
    answers = "-".join(p.answers)
    return "~".join((str(p.edition), p.attempt, answers,
                     _mac(secret, "progress", p.lesson, str(p.edition), p.attempt, answers)))


def read_token(lesson: str, text: str, secret: str) -> Progress:
    fields = text.split("~")
    if len(fields) != 4:
        raise TokenError("The lesson's progress (t) is not a token this site wrote.")
    edition, attempt, answers, mac = fields
    _check(edition, attempt, answers, mac)
    if not hmac.compare_digest(mac, _mac(secret, "progress", lesson, edition, attempt, answers)):
        raise TokenError("The lesson's progress (t) was changed after this site wrote it, so it no longer counts.")
    return Progress(lesson, int(edition), attempt, tuple(answers.split("-")) if answers else ())


def result_code(p: Progress, secret: str) -> str:
    answers = "-".join(p.answers)
    return "~".join((p.lesson, str(p.edition), p.attempt, answers,
                     _mac(secret, "result", p.lesson, str(p.edition), p.attempt, answers)))


def read_code(text: str, secret: str) -> Progress:
    fields = text.strip().split("~")
    if len(fields) != 5 or not re.match(r"^[a-z0-9-]{1,40}$", fields[0]):
        raise TokenError("This is not a result code: one looks like lesson~1~attempt~answers~signature.")
    lesson, edition, attempt, answers, mac = fields
    _check(edition, attempt, answers, mac)
    if not hmac.compare_digest(mac, _mac(secret, "result", lesson, edition, attempt, answers)):
        raise TokenError("This result code was not issued by this server, or was changed since.")
    return Progress(lesson, int(edition), attempt, tuple(answers.split("-")) if answers else ())


def _check(edition: str, attempt: str, answers: str, mac: str) -> None:
    if not (edition.isdigit() and len(edition) < 4 and _ATTEMPT.match(attempt) and _ANSWERS.match(answers)
            and _MAC.match(mac)):
        raise TokenError("The lesson's progress is garbled: it is not a token this site wrote.")
