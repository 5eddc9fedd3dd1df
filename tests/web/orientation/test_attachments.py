"""Attachments of an orientation (issue 19, point 2: « optional attachments refused
by default »): off by default (no file field, an upload is a 400 naming the
field); on, up to 3 PDF/PNG/JPEG files recognised by their content, each under
ORIENTATION_ATTACHMENT_MAX_KB, stored in the database, downloaded only by who
reads the orientation (logged), deleted by the anonymisation and the erasure,
listed in the right of access export, never in an e-mail."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from catalogue import orientation_privacy as privacy
from catalogue.orientation import Orientation, PersonalDataAccess
from catalogue.orientation_attachment import OrientationAttachment, safe_name
from tests.web.orientation.conftest import as_user, mails, orient_form, post

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def text_of(r) -> str:
    return r.get_data(as_text=True)


def _orient(client, world, files: list[tuple[bytes, str]], field: str = "pieces_jointes"):
    data = orient_form()
    data[field] = [(io.BytesIO(content), name) for content, name in files]
    return post(client, f"/services/{world['a_pub'].id}/orienter", data, content_type="multipart/form-data")


@pytest.fixture
def attachments_on(app, smtp):
    settings = app.extensions["offre"]["settings"]
    app.extensions["offre"]["settings"] = settings.replace(orientation_attachments=True,
                                                           orientation_attachment_max_kb=8)
    return smtp


def test_off_by_default_no_field_and_an_upload_is_a_400(client, db, world, smtp):
    as_user(client, world["users"]["verifie"])
    form = text_of(client.get(f"/services/{world['a_pub'].id}/orienter"))
    assert 'type="file"' not in form and "Aucune pièce jointe" in form
    r = _orient(client, world, [(PDF, "attestation.pdf")])
    assert r.status_code == 400
    assert "Pièces jointes" in text_of(r) and "ORIENTATION_ATTACHMENTS" in text_of(r)
    assert db.scalar(select(func.count(Orientation.id))) == 0


def test_on_a_pdf_is_accepted_stored_and_never_mailed(client, db, world, attachments_on, caplog):
    caplog.set_level(logging.DEBUG)
    as_user(client, world["users"]["verifie"])
    form = text_of(client.get(f"/services/{world['a_pub'].id}/orienter"))
    assert 'type="file"' in form and 'name="pieces_jointes"' in form and "multipart/form-data" in form
    r = _orient(client, world, [(PDF, "../../etc/Attestation <CAF>.pdf"), (PNG, "photo.png")])
    assert r.status_code == 302, text_of(r)[:2000]
    rows = db.scalars(select(OrientationAttachment).order_by(OrientationAttachment.id)).all()
    assert [(a.name, a.media_type, a.size) for a in rows] == [
        ("Attestation _CAF.pdf", "application/pdf", len(PDF)), ("photo.png", "image/png", len(PNG))]
    assert rows[0].data == PDF
    for message in mails(attachments_on, 2):
        assert not any(part.get_filename() for part in message.walk())
        assert b"%PDF" not in message.as_bytes()
    page = text_of(client.get(r.headers["Location"]))
    assert "Attestation _CAF.pdf" in page and "/pieces-jointes/" in page
    assert client.get(_link(page)).data == PDF
    assert "Attestation" not in caplog.text and "%PDF" not in caplog.text  # never in a log


def _link(page: str) -> str:
    return re.search(r'href="(/orientations/[0-9a-f-]+/pieces-jointes/[0-9a-f-]+)"', page).group(1)


def test_on_refused_files(client, db, world, attachments_on):
    as_user(client, world["users"]["verifie"])
    r = _orient(client, world, [(EXE, "programme.pdf")])
    assert r.status_code == 400
    assert "Pièces jointes" in text_of(r) and "ni un PDF" in text_of(r)
    r = _orient(client, world, [(PDF + b"0" * 9 * 1024, "gros.pdf")])
    assert r.status_code == 400 and "dépasse 8 Ko" in text_of(r)
    r = _orient(client, world, [(PDF, f"{i}.pdf") for i in range(4)])
    assert r.status_code == 400 and "3 fichiers au plus" in text_of(r)
    r = _orient(client, world, [(PDF, "a.pdf")], field="autre")
    assert r.status_code == 400 and "champ de fichier inconnu" in text_of(r)
    # The whole request is bounded: far over 3 files of 8 Ko, a 413.
    r = _orient(client, world, [(PDF + b"0" * 600 * 1024, "enorme.pdf")])
    assert r.status_code == 413
    assert db.scalar(select(func.count(Orientation.id))) == 0
    assert db.scalar(select(func.count(OrientationAttachment.id))) == 0


def test_safe_names():
    assert safe_name("C:\\Users\\x\\cni recto.PDF", "application/pdf") == "cni recto.pdf"
    assert safe_name("photo.exe", "image/jpeg") == "photo.jpg"
    assert safe_name("...", "image/png") == "piece-jointe.png"
    assert safe_name('a"b<script>.pdf', "application/pdf") == "a_b_script.pdf"
    assert len(safe_name("x" * 500 + ".pdf", "application/pdf")) <= 100


@pytest.fixture
def with_file(client, db, world, attachments_on):
    referent = world["users"]["verifie"]
    as_user(client, referent)
    r = _orient(client, world, [(PDF, "attestation é.pdf")])
    assert r.status_code == 302, text_of(r)[:2000]
    found = db.scalar(select(Orientation))
    attachment = db.scalar(select(OrientationAttachment))
    url = f"/orientations/{found.public_id}/pieces-jointes/{attachment.public_id}"
    return {"orientation": found, "url": url, "referent": referent}


def test_download_by_role_and_logged(client, db, world, with_file):
    url, found = with_file["url"], with_file["orientation"]
    for role in ("verifie", "membre_a", "admin_a", "moderateur", "administrateur"):
        as_user(client, world["users"][role])
        r = client.get(url)
        assert r.status_code == 200, role
        assert r.data == PDF and r.mimetype == "application/pdf"
        assert r.headers["Content-Disposition"].startswith('attachment; filename="attestation _.pdf"')
        assert "filename*=UTF-8''attestation%20%C3%A9.pdf" in r.headers["Content-Disposition"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in r.headers["Cache-Control"]
    for role in ("membre_b", "moderateur_autre", "membre_cto_a"):
        as_user(client, world["users"][role])
        assert client.get(url).status_code == 404, role
    as_user(client, None)
    assert client.get(url).status_code in (302, 401)
    # Another orientation's id with this file's id, an unknown file: 404.
    as_user(client, with_file["referent"])
    assert client.get(url.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000").status_code == 404
    downloads = db.scalars(select(PersonalDataAccess.user_id).where(
        PersonalDataAccess.orientation_id == found.id, PersonalDataAccess.action == "telechargement")).all()
    assert len(downloads) == 5
    assert world["users"]["membre_b"].id not in downloads


def test_anonymisation_after_retention_removes_them(client, db, world, with_file):
    found = with_file["orientation"]
    later = datetime.now(UTC) + timedelta(days=31 * 30)
    assert privacy.anonymise_expired(db, 24, now=later) == 1
    db.commit()
    assert db.scalar(select(func.count(OrientationAttachment.id))) == 0
    as_user(client, with_file["referent"])
    assert client.get(with_file["url"]).status_code == 404
    db.refresh(found)
    assert found.anonymised_at is not None


def test_export_lists_them_and_erasure_removes_them(client, db, world, with_file):
    as_user(client, world["users"]["moderateur"])
    person = {"nom": "Marie Curie", "contact": "06 12 34 56 78"}
    r = post(client, "/orientations/droits", {**person, "action": "json"})
    assert json.loads(r.get_data())["orientations"][0]["pieces_jointes"] == [
        {"nom": "attestation é.pdf", "type": "PDF", "taille_octets": len(PDF)}]
    r = post(client, "/orientations/droits", {**person, "action": "csv"})
    assert "attestation é.pdf (PDF" in text_of(r)
    r = post(client, "/orientations/droits", {**person, "action": "effacer", "confirmer": "oui"})
    assert r.status_code == 200
    assert db.scalar(select(func.count(OrientationAttachment.id))) == 0
    as_user(client, with_file["referent"])
    assert client.get(with_file["url"]).status_code == 404


def test_other_forms_refuse_files_when_on(client, db, world, with_file):
    as_user(client, world["users"]["membre_a"])
    url = f"/orientations/{with_file['orientation'].public_id}/decision"
    r = post(client, url, {"decision": "accepter", "pieces_jointes": (io.BytesIO(PDF), "a.pdf")},
             content_type="multipart/form-data")
    assert r.status_code == 400 and "seul le formulaire" in text_of(r)
