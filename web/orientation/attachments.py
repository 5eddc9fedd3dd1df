"""Attachments of an orientation over HTTP (catalogue.orientation_attachment):
read from the orientation form when ORIENTATION_ATTACHMENTS is true, and the
download, for who reads the orientation only (404 for anyone else), logged,
served as a download (Content-Disposition: attachment, nosniff, no cache, no
script). The files of a request to the orientation pages are kept in memory,
never spooled to a temporary file, and the request's size is bounded
(OrientationRequest)."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, abort, current_app, request

from catalogue import orientation as orientations
from catalogue import orientation_attachment as files
from catalogue import orientation_privacy as privacy
from catalogue import permissions
from web.access import current_user, login_required
from web.db import get_session

bp = Blueprint("orientation_files", __name__)

LABEL = "Pièces jointes"
REFUSED = (f"{LABEL} : refusées par ce service (réglage ORIENTATION_ATTACHMENTS) ; transmettez les "
           "documents directement à la structure, une fois l'orientation acceptée.")
ONLY_THE_FORM = f"{LABEL} : seul le formulaire d'envoi d'une orientation en accepte."
# Room for the form's text fields and the multipart envelope, over the files.
FORM_ROOM = 256 * 1024
MAX_KB_CEILING = 20 * 1024


def _settings():
    return current_app.extensions["offre"]["settings"]


def enabled() -> bool:
    return bool(_settings().orientation_attachments)


def max_kb() -> int:
    return max(1, min(int(_settings().orientation_attachment_max_kb), MAX_KB_CEILING))


def request_limit() -> int:
    """The largest request the orientation pages accept: the form alone when the
    attachments are off (a small file still gets the clear 400), else the files too."""
    if not enabled():
        return 1024 * 1024
    return files.MAX_FILES * max_kb() * 1024 + FORM_ROOM


def request_class_for(base):
    """`base` (the app's request class) with the orientation pages' uploads kept in
    memory and bounded."""

    class OrientationRequest(base):
        def _orientation_page(self) -> bool:
            return self.blueprint in ("orientation", "orientation_files")

        @property
        def max_content_length(self):
            if self._orientation_page():
                return request_limit()
            return super().max_content_length

        @max_content_length.setter
        def max_content_length(self, value):
            base.max_content_length.__set__(self, value)

        def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
            if self._orientation_page():
                return io.BytesIO()
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)

    return OrientationRequest


def refuse_files(form_accepts: bool = False) -> None:
    """400 naming the field when a request carries files it must not: any file
    when the attachments are off; a file outside the field « pieces_jointes » or
    outside the sending form when they are on."""
    if not request.files:
        return
    if not enabled():
        abort(400, description=REFUSED)
    if not form_accepts:
        abort(400, description=ONLY_THE_FORM)
    other = next((name for name in request.files if name != files.FIELD), None)
    if other is not None:
        abort(400, description=f"{LABEL} : champ de fichier inconnu « {other[:40]} » (attendu : {files.FIELD})")


def uploads() -> list[files.Upload]:
    """The files of the orientation form, checked (ValidationError on « pieces_jointes »)."""
    refuse_files(form_accepts=True)
    if not enabled():
        return []
    sent = [(f.filename, f.stream.read(max_kb() * 1024 + 1)) for f in request.files.getlist(files.FIELD)]
    return files.check_uploads(sent, max_kb())


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.get("/orientations/<uuid:orientation_id>/pieces-jointes/<uuid:attachment_id>")
@login_required
def download(orientation_id, attachment_id):
    session, user = get_session(), current_user()
    found = orientations.by_public_id(session, orientation_id)
    if found is None or not permissions.can_download_orientation_attachment(session, user, found):
        abort(404)
    attachment = files.find(session, found, attachment_id)
    if attachment is None:
        abort(404)
    privacy.log_access(session, user, [found], "telechargement")
    session.commit()
    response = current_app.response_class(attachment.data, mimetype=attachment.media_type)
    response.headers["Content-Disposition"] = _disposition(attachment.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def init_app(app) -> None:
    app.request_class = request_class_for(app.request_class)
