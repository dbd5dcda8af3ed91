"""Teaching views: lessons played as graded exercises, the glossary, and seeded exercise sets
(worksheet, answer checker, exports). Each reads its query through app.teach (a bad one is a
Refusal, answered like every other: answer.refuse) and renders."""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request

from ...permalink import clip
from ...sim import KERNELS
from ...teach import exercises, glossary, lessons
from ..request import Refusal
from ..serving import origin
from ..serving.responses import memoised
from .answer import refuse

bp = Blueprint("teach", __name__)


@bp.get("/lessons/")
def lesson_index():
    return memoised(lambda: (render_template("lessons.html", lessons=lessons.LESSONS), "text/html"))


@bp.get("/lessons/<lid>/")
def lesson(lid: str):
    """A lesson played part by part: predict, the prediction locks, then the reveal; progress and
    score live in the URL (?a=<answers>&p=<part>)."""
    found = lessons.by_id(lid)
    if found is None:
        return refuse(Refusal(f"There is no lesson '{clip(lid)}'.", "/lessons/", 404))
    try:
        game, goto = lessons.play(found, request.args)
    except lessons.LessonError as e:
        return refuse(Refusal(str(e), f"/lessons/{found.id}/"))
    if goto:      # a prediction just locked (302), or a lesson address in another spelling (301)
        return redirect(goto, 302 if "guess" in request.args else 301)

    def build():
        parts = game.parts()
        return render_template("lesson.html", lesson=found, game=game, parts=parts, part=parts[game.current - 1],
                               choices=exercises.CHOICES, score=sum(1 for p in parts if p.get("right")),
                               lessons=lessons.LESSONS), "text/html"
    return memoised(build)


@bp.get("/glossary/")
def glossary_page():
    if request.query_string:
        return refuse(Refusal("The glossary takes no query.", "/glossary/"))
    return render_template("glossary.html", terms=sorted(glossary.TERMS, key=lambda t: t.name.lower()))


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
    if fmt in exercises.FORMATS:
        render, mimetype = exercises.FORMATS[fmt]
        resp = Response(render(es, origin.base()), mimetype=mimetype)
        resp.headers["Content-Disposition"] = f'inline; filename="s2viz-exercises-{es.seed}.{fmt}"'
        return resp
    if fmt != "html":
        return refuse(Refusal("The format must be html, md, json or gift.", "/exercises/"))
    key = request.args.get("key") == "1"
    return render_template("exercises.html", es=es, choices=exercises.CHOICES, short=exercises.SHORT,
                           models=list(KERNELS), levels=exercises.LEVELS, max_n=exercises.MAX_N, key=key)


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
    return render_template("exercises_check.html", es=es, rows=rows, score=sum(r["right"] for r in rows),
                           choices=exercises.CHOICES, short=exercises.SHORT, sheet=sheet)
