"""One guard against control characters in what a client sends: the path (every URL
segment, whatever its converter), the query string, the form fields (names, values,
file names) and the JSON body of the API. A NUL byte or another control character
gets a 400 naming the field before any view runs (PostgreSQL refuses NUL in text, and
no field of the service holds a control character).

Tab, line feed and carriage return are allowed in form fields and JSON strings (the
multi-line texts: descriptions, messages, remarks), never in the path or the query
string.
"""

from __future__ import annotations

import re

from apispec import BasePlugin
from flask import Flask, jsonify, render_template, request

# C0 controls, DEL, C1 controls; then the same without tab, LF, CR.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# JSON bodies are nested; deeper than this is refused as malformed.
MAX_JSON_DEPTH = 32


class BadInput(Exception):
    def __init__(self, field: str, char: str = "", reason: str = ""):
        super().__init__(field)
        self.field, self.char, self.reason = field, char, reason

    @property
    def message(self) -> str:
        if self.reason:
            return f"{self.field} : {self.reason}"
        return (f"{self.field} : caractère de contrôle interdit (U+{ord(self.char):04X}) ; "
                "retirez-le et renvoyez.")


def _check(field: str, value: str, pattern: re.Pattern) -> None:
    found = pattern.search(value)
    if found:
        raise BadInput(field, found.group())


def _check_json(value, path: str, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadInput(path or "corps", reason=f"JSON imbriqué sur plus de {MAX_JSON_DEPTH} niveaux")
    if isinstance(value, str):
        _check(path or "corps", value, _CONTROL_IN_TEXT)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            _check(name, str(key), _CONTROL)
            _check_json(item, name, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]" if path else f"[{index}]", depth + 1)


def check_request() -> None:
    """Raises BadInput on the first control character found."""
    _check("adresse", request.path, _CONTROL)
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            _check(name, value, _CONTROL)
    for name, value in request.args.items(multi=True):
        _check("paramètre", name, _CONTROL)
        _check(name, value, _CONTROL)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            _check("champ", name, _CONTROL)
            _check(name, value, _CONTROL_IN_TEXT)
        for name, upload in request.files.items(multi=True):
            _check("champ", name, _CONTROL)
            _check(name, upload.filename or "", _CONTROL)
    elif request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            # The JSON parser gives up on very deep nesting (not a ValueError).
            raise BadInput("corps", reason=f"JSON imbriqué sur plus de {MAX_JSON_DEPTH} niveaux") from None
        if body is not None:
            _check_json(body, "")


def _guard():
    try:
        check_request()
    except BadInput as exc:
        return _refuse(exc)
    return None


def _refuse(exc: BadInput):
    if request.path.startswith("/api/"):
        response = jsonify({
            "type": "about:blank", "title": "Requête invalide", "status": 400,
            "detail": exc.message, "errors": {exc.field: [exc.message]},
        })
        response.status_code = 400
        response.content_type = "application/problem+json"
        return response
    return render_template("error.html", code=400, title="Requête invalide", message=exc.message), 400


def init_app(app: Flask) -> None:
    # First of the before_request functions: nothing reads the request before it.
    app.before_request_funcs.setdefault(None, []).insert(0, _guard)


# What the guard refuses, said in the OpenAPI spec: every string parameter of the
# path or the query without a pattern or a list of values gets this pattern.
NO_CONTROL_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F]*$"


def _document(parameter) -> None:
    if not isinstance(parameter, dict) or parameter.get("in") not in ("query", "path"):
        return
    schema = parameter.get("schema") or {}
    if schema.get("type") == "array":
        schema = schema.get("items") or {}
    if schema.get("type") != "string" or {"pattern", "enum"} & set(schema):
        return
    if schema.get("format") in ("uuid", "date", "date-time"):
        return
    schema["pattern"] = NO_CONTROL_PATTERN


class SpecPlugin(BasePlugin):
    """apispec plugin (after flask-smorest's marshmallow plugin): documents the guard."""

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        for parameter in parameters or []:
            _document(parameter)
        return None

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters") or []:
                    _document(parameter)
