"""Teaching views: the glossary. Each parses its query, asks app.glossary, and renders."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from . import glossary
from .views import bad_request

bp = Blueprint("teach", __name__)
bp.add_app_template_filter(glossary.mark, "gloss")


@bp.get("/glossary/")
def glossary_page():
    if request.query_string:
        return bad_request("The glossary takes no query.", "/glossary/")
    return render_template("glossary.html", terms=sorted(glossary.TERMS, key=lambda t: t.name.lower()))
