"""Exports for people: the search result as CSV, XLSX and PDF, with the date and the
filters written in words; bad filters are refused by name."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

QUERY = "code_commune=02408&thematiques=mobilite&publics=jeunes&rayon_km=30"


def _total(client):
    r = client.get(f"/api/v1/services/search?{QUERY}&size=1")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json["total"]


def test_csv_has_date_filters_and_every_result(demo_app):
    client = demo_app.test_client()
    total = _total(client)
    assert total > 0
    r = client.get(f"/recherche/export.csv?{QUERY}")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith('attachment; filename="offres-')
    content = r.get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content), delimiter=";"))
    flat = [cell for line in lines[:10] for cell in line]
    assert any(cell.startswith("Export du ") for cell in flat)
    assert "Commune : Laon (02408), dans un rayon de 30 km" in flat
    assert "Thématiques : Mobilité" in flat
    assert any(cell.startswith("Publics : Jeunes") for cell in flat)
    header = lines.index(next(line for line in lines if line and line[0] == "Offre"))
    assert len(lines) - header - 1 == total


def test_xlsx_and_pdf(demo_app):
    client = demo_app.test_client()
    total = _total(client)
    r = client.get(f"/recherche/export.xlsx?{QUERY}")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.get_data())).active
    values = [row[0] for row in ws.iter_rows(values_only=True)]
    assert any(isinstance(v, str) and v.startswith("Export du ") for v in values)
    assert "Thématiques : Mobilité" in values
    assert len(values) - values.index("Offre") - 1 == total

    r = client.get(f"/recherche/export.pdf?{QUERY}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.get_data().startswith(b"%PDF")


def test_bad_filter_is_refused_by_name(demo_app):
    client = demo_app.test_client()
    r = client.get("/recherche/export.csv?thematiques=pas-une-thematique")
    assert r.status_code == 400
    assert "thematiques" in r.get_data(as_text=True)
    r = client.get("/recherche/export.xlsx?commune=Nullepartville")
    assert r.status_code == 400
    assert "commune" in r.get_data(as_text=True)
