"""Templates a partner downloads to send its offers: the project's own (XLSX, CSV
and the YAML mapping that reads them: offre import partenaire FICHIER --mapping …)
and data·inclusion's national template (offre import data-inclusion FICHIER
--source NOM)."""

from __future__ import annotations

from flask import Blueprint, Response

from importers import templates

bp = Blueprint("imports", __name__)

_FILES = {
    "offres.xlsx": (templates.template_xlsx,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "offres.csv": (templates.template_csv, "text/csv; charset=utf-8"),
    "correspondance.yaml": (templates.mapping_yaml, "application/yaml; charset=utf-8"),
    "data-inclusion.xlsx": (templates.national_template_xlsx,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@bp.get("/modeles/<any(" + ", ".join(f'"{n}"' for n in _FILES) + "):name>")
def template(name: str):
    build, mimetype = _FILES[name]
    return Response(build(), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
