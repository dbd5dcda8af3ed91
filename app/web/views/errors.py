"""HTTP errors (404, 405, 413, 500, ...): one sentence, never a stack trace. JSON under /api/ and
/figure/, HTML elsewhere. A refused scenario is answered by answer.refuse."""
from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

SENTENCES = {404: "There is no page at this address.", 405: "This address only answers GET requests.",
             413: "The request is too large: a permalink's query has at most 4096 characters.",
             414: "The address is too long.", 431: "The request headers are too large."}


def register(app) -> None:
    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return _respond(SENTENCES.get(e.code or 0, (e.name or "Error") + "."), e.code or 500)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _respond("Something went wrong on our side; the request was not processed.", 500)


def _respond(message: str, status: int):
    if request.path.startswith(("/api/", "/figure/")):
        resp = jsonify(error=message)
    else:
        resp = make_response(render_template("error.html", message=message, nearest="/"))
    resp.status_code = status
    return resp
