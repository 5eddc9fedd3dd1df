"""The public site."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalogue import queries
from web.db import get_session

bp = Blueprint("public", __name__)


def home_view(session) -> dict:
    """The home page as one plain dict (rendered as HTML, or JSON by the API)."""
    counts = queries.counts_by_spie_group(session)
    return {
        "thematiques_spie": [
            {"code": g.code, "label": g.label, "rank": g.rank, "services": n} for g, n in counts
        ],
        "totaux": queries.catalogue_totals(session),
    }


@bp.get("/")
def home():
    return render_template("public/home.html", **home_view(get_session()))
