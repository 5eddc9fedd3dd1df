"""Length limits apply to imports too (catalogue.schemas, as for forms and the API)."""

from __future__ import annotations

import json

from catalogue.schemas import URL_MAX
from tests.importers.conftest import DATA, counts


def test_import_quarantines_an_over_long_field(db, run_import, tmp_path):
    """d·i v1 records are checked by data·inclusion's models, which leave most texts
    unbounded: the catalogue's limits still apply."""
    folder = tmp_path / "di"
    folder.mkdir()
    (folder / "structures.json").write_bytes((DATA / "di-v1-structures.json").read_bytes())
    services = json.loads((DATA / "di-v1-services.json").read_text(encoding="utf-8"))
    services[0]["conditions_acces"] = "z" * 5_000
    services[1]["lien_mobilisation"] = "https://example.org/" + "a" * URL_MAX
    (folder / "services.json").write_text(json.dumps(services), encoding="utf-8")
    report = run_import("data-inclusion", folder)
    assert counts(report, "service")["rejetes"] == 2
    reasons = " | ".join(r["motif"] for r in report["rejets"])
    assert "conditions_acces : 2\u202f000 caractères au plus (5\u202f000 reçus)" in reasons
    assert "lien_mobilisation : 2\u202f000 caractères au plus" in reasons
