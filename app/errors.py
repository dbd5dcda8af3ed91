"""Error responses: one sentence, never a stack trace."""
from __future__ import annotations

from flask import jsonify, request
from werkzeug.exceptions import HTTPException


def register(app) -> None:
    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        resp = jsonify(error=_sentence(e))
        resp.status_code = e.code or 500
        return resp

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        resp = jsonify(error="Something went wrong on our side; the request was not processed.")
        resp.status_code = 500
        return resp


def _sentence(e: HTTPException) -> str:
    return {404: "There is no page at this address.",
            405: "This address only answers GET requests.",
            413: "The request is too large."}.get(e.code or 0, e.name + ".")
