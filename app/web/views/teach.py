"""Teaching views: lessons played as graded exercises, the glossary, and seeded exercise sets
(worksheet, answer checker, exports). Each reads its query through app.teach (a bad one is a
Refusal, answered like every other: answer.refuse) and renders."""
from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, redirect, render_template, request

from ...permalink import clip
from ...sim import KERNELS
from ...teach import exercise_export, exercises, glossary, lessons, tokens
from ..request import Refusal
from ..serving import origin
from .answer import refuse

bp = Blueprint("teach", __name__)


MAX_CODES = 100                         # result codes checked at once (a class or two)
LESSON_CACHE = "private, no-store"      # a lesson's pages follow this browser's attempt (its cookie)
COOKIE_DAYS = 120


def _secret() -> str:
    return current_app.config.get("SECRET") or tokens.DEFAULT_SECRET


def _private(resp: Response) -> Response:
    resp.headers["Cache-Control"] = LESSON_CACHE
    resp.vary.add("Cookie")
    return resp


def _remember(resp: Response, game: lessons.Play) -> Response:
    """Keep the newest progress of this browser's attempt (the lock: an older page cannot answer again)."""
    resp.set_cookie(lessons.cookie_name(game.lesson.id), game.token, max_age=COOKIE_DAYS * 86400,
                    path="/lessons/", secure=request.is_secure, httponly=True, samesite="Lax")
    return resp


def _lesson(lid: str) -> lessons.Lesson | Response:
    found = lessons.by_id(lid)
    if found is None:
        return refuse(Refusal(f"There is no lesson '{clip(lid)}'.", "/lessons/", 404))
    return found


@bp.get("/lessons/")
def lesson_index():
    """Every lesson, with this browser's progress in it (score, result code)."""
    rows = []
    for found in lessons.LESSONS:
        mine = lessons.remembered(found, request.cookies.get(lessons.cookie_name(found.id)), _secret())
        game = lessons.Play(found, mine, 1, _secret()) if mine else None
        row = {"lesson": found, "game": game}
        if game:
            parts = game.parts()
            row.update(score=game.score(parts)[0], answered=len(mine.answers), href=game.href(game.next_part),
                       code=game.result_code())
        rows.append(row)
    og = _og("lessons on how arm64 KVM handles a guest's stage-2 fault",
             "Graded lessons: answer what KVM does, the answers lock, then step through the trace. A primer first, "
             "then the Grace Hopper story and what followed.", "/lessons/")
    return _private(Response(render_template("lessons.html", rows=rows, og=og), mimetype="text/html"))


@bp.get("/lessons/<lid>/")
def lesson(lid: str):
    """A lesson played part by part: answer, the answers lock, then the reveal. The progress is a
    signed token in the address (t); the part shown is p."""
    found = _lesson(lid)
    if isinstance(found, Response):
        return found
    try:
        game, goto = lessons.play(found, request.args, request.cookies.get(lessons.cookie_name(lid)), _secret())
    except lessons.LessonError as e:
        return _private(refuse(Refusal(str(e), f"/lessons/{found.id}/")))
    if goto:      # another spelling, or an older page of this browser's attempt: its newest state
        return _private(redirect(goto, 302))
    parts = game.parts()
    right, qright = game.score(parts)
    return _private(Response(render_template(
        "lesson.html", lesson=found, game=game, parts=parts, part=parts[game.current - 1], score=right,
        qscore=qright, asked=sum(len(p["questions"]) for p in parts if p["answered"]), code=game.result_code(),
        og=_og(found.title, found.goal, f"/lessons/{found.id}/")), mimetype="text/html"))


@bp.get("/lessons/<lid>/lock/")
def lesson_lock(lid: str):
    """The answer form's target: lock the next part's answers, then show its reveal (a 302)."""
    found = _lesson(lid)
    if isinstance(found, Response):
        return found
    try:
        game, fresh = lessons.lock(found, request.args, request.cookies.get(lessons.cookie_name(lid)), _secret(),
                                   time.time())
    except lessons.LessonError as e:
        nearest = f"/lessons/{found.id}/" + (f"?t={request.args['t']}" if "t" in request.args else "")
        return _private(refuse(Refusal(str(e), nearest)))
    resp = _private(redirect(game.href(game.current), 302))
    return _remember(resp, game) if fresh else resp


@bp.get("/lessons/<lid>/again/")
def lesson_again(lid: str):
    """Start a finished lesson again, as a new attempt (an unfinished one is resumed instead)."""
    found = _lesson(lid)
    if isinstance(found, Response):
        return found
    mine = lessons.remembered(found, request.cookies.get(lessons.cookie_name(lid)), _secret())
    resp = _private(redirect(f"/lessons/{found.id}/", 302))
    if mine is None or len(mine.answers) == len(found.parts):
        resp.delete_cookie(lessons.cookie_name(lid), path="/lessons/")
    return resp


@bp.route("/lessons/verify/", methods=["GET", "POST"])
def lesson_verify():
    """Result codes checked for a teacher: one per line (the form posts them, a class's worth being
    longer than an address may be; ?codes= checks a few from a link); each is graded, or refused in
    a sentence. Nothing is stored."""
    text = (request.form if request.method == "POST" else request.args).get("codes", "")
    codes = [c.strip() for c in text.splitlines() if c.strip()][:MAX_CODES]
    results = []
    for c in codes:
        try:
            results.append(lessons.verify(c, _secret()))
        except lessons.LessonError as e:
            results.append({"code": c, "error": str(e)})
    default = _secret() == tokens.DEFAULT_SECRET
    return _private(Response(render_template("lesson_verify.html", codes=text, results=results, default=default),
                             mimetype="text/html"))


def _og(title: str, description: str, path: str) -> dict:
    """Link-preview meta for a page that is not a permalink (no card image)."""
    base = origin.base()
    return {"title": f"s2viz: {title}", "description": description, "url": base + path if base else "",
            "image": ""}


@bp.get("/glossary/")
def glossary_page():
    if request.query_string:
        return refuse(Refusal("The glossary takes no query.", "/glossary/"))
    terms = sorted(glossary.TERMS, key=lambda t: t.name.lower())
    return render_template("glossary.html", terms=terms, tag=glossary.TAG,
                           og=_og("glossary of arm64 KVM's stage-2 terms",
                                  "Every term the traces use (FWB, DIC, PoC, S2AP, MemAttr, VM_PFNMAP, memslot, ...) "
                                  "in a few plain sentences, with its Arm ARM section or kernel file.", "/glossary/"))


def _set() -> exercises.ExerciseSet | Refusal:
    """The exercise set the query names."""
    try:
        return exercises.generate(*exercises.parse(request.args))
    except exercises.ExerciseError as e:
        return Refusal(str(e), "/exercises/")


@bp.get("/exercises/")
def exercise_set():
    es = _set()
    if isinstance(es, Refusal):
        return refuse(es)
    fmt = request.args.get("format", "html")
    if fmt in exercise_export.FORMATS:
        render, mimetype = exercise_export.FORMATS[fmt]
        resp = Response(render(es, origin.base()), mimetype=mimetype)
        resp.headers["Content-Disposition"] = f'inline; filename="s2viz-exercises-{es.seed}.{fmt}"'
        return resp
    if fmt != "html":
        return refuse(Refusal("The format must be html, md, json or gift.", "/exercises/"))
    key = request.args.get("key") == "1"
    return render_template("exercises.html", es=es, models=list(KERNELS), levels=exercises.LEVELS,
                           max_n=exercises.MAX_N, key=key, hidden=_hidden(es), asks=ASK_WORDS,
                           og=_og(f"exercises, seed {es.seed}", f"{len(es.questions)} questions on how arm64 KVM "
                                  "handles a guest's stage-2 fault, with an answer key that explains each answer.",
                                  f"/exercises/?{es.query}"))


ASK_WORDS = (("outcome", "what happens?"), ("safe", "is this safe?"), ("mixed", "both, in turn"))


def _hidden(es: exercises.ExerciseSet) -> list[tuple[str, object]]:
    """The set's own keys, for the answer sheet's forms."""
    return [("seed", es.seed), ("n", es.n), ("model", es.model), ("level", es.level)] + (
        [("ask", es.ask)] if es.ask != "outcome" else [])


@bp.get("/exercises/check/")
def exercise_check():
    es = _set()
    if isinstance(es, Refusal):
        return refuse(es)
    sheet = request.args.get("answers")
    if sheet is None:      # the worksheet's own form: one radio group per question
        sheet = "".join(request.args.get(f"a{q.n}", "-") or "-" for q in es.questions)
    try:
        sheet = exercises.parse_answers(sheet, len(es.questions))
    except exercises.ExerciseError as e:
        return refuse(Refusal(str(e), f"/exercises/?{es.query}"))
    rows = exercises.grade(es, sheet)
    return render_template("exercises_check.html", es=es, rows=rows, score=sum(r["right"] for r in rows), sheet=sheet)
