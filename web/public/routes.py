"""The public site: home, search results (list + map), service and structure pages,
"Signaler une erreur", the public map of the whole offer. Every page works without
JavaScript; every map has a list alternative."""

from __future__ import annotations

import logging
import math
import re
import smtplib
import uuid
from dataclasses import replace
from urllib.parse import parse_qsl, quote, urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from catalogue import moderation, queries, vocabulary
from catalogue import public_queries as pq
from catalogue.db import set_actor
from catalogue.models import ErrorReport
from search.errors import InvalidQuery, SearchUnavailable
from web import i18n, maps, search_
from web.db import get_session
from web.mail import send_mail
from web.public import views as views

log = logging.getLogger(__name__)

bp = Blueprint("public", __name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MESSAGE_MIN, MESSAGE_MAX = 10, 5000


def _settings():
    return current_app.extensions["offre"]["settings"]


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


@bp.get("/communes.json")
def communes_json():
    """Autocomplete of the commune field: name, postal code or INSEE code prefix."""
    q = request.args.get("q", "").strip()
    if len(q) > 100:
        return jsonify({"detail": "q : 100 caractères au plus."}), 400
    found = pq.search_communes(get_session(), q, limit=10, departement_code=_settings().departement_code)
    response = jsonify([c.as_json() for c in found])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# ---------------------------------------------------------------- search results

SORTS = [("pertinence", "Pertinence"), ("distance", "Distance"), ("fraicheur", "Mise à jour la plus récente")]


def _resolve_commune_arg(session, args: MultiDict) -> tuple[MultiDict, dict | None]:
    """Turn `commune` (as typed) into `code_commune`. Returns the new args and, when
    the person must choose or nothing matches, what to show instead."""
    typed = (args.get("commune") or "").strip()
    if not typed or args.get("code_commune"):
        return args, None
    matches = pq.resolve_commune(session, typed, departement_code=_settings().departement_code)
    if len(matches) == 1:
        new = MultiDict(args)
        new["code_commune"] = matches[0].code
        new["commune"] = matches[0].label
        return new, None
    return args, {"typed": typed, "choices": matches}


def _url_with(args: MultiDict, **changes) -> str:
    new = MultiDict(args)
    for key, value in changes.items():
        new.poplist(key)
        if value is not None:
            new[key] = value
    new.poplist("cursor")
    new.poplist("lang")  # url_for keeps the page's language (web/i18n.py)
    new.poplist("falc")
    return i18n.join_query(url_for("public.results"), _encode(new))


def _encode(args: MultiDict) -> str:
    return urlencode([(k, v) for k, v in args.items(multi=True) if v not in ("", None)])


def _facet_options(facets: dict, name: str, labels: dict[str, str], selected: list[str]) -> list[dict]:
    counts = facets.get(name, {})
    options = []
    for code, label in labels.items():
        n = counts.get(code, 0)
        if n or code in selected:
            options.append({"code": code, "label": label, "count": n, "checked": code in selected})
    return options


def _filters(facets: dict, args: MultiDict) -> list[dict]:
    """The filter fieldsets, with facet counts; selected values stay shown."""
    thematiques = args.getlist("thematiques")
    groups = []
    spie_counts = facets.get("thematiques_spie", {})
    them_counts = facets.get("thematiques", {})
    them_labels = vocabulary.thematiques()
    for g in vocabulary.spie_groups():
        children = [
            {"code": t, "label": them_labels[t], "count": them_counts.get(t, 0), "checked": t in thematiques}
            for t in vocabulary.expand_thematiques([g.code])
            if them_counts.get(t, 0) or t in thematiques
        ]
        groups.append(
            {
                "code": g.code,
                "label": g.label,
                "count": spie_counts.get(g.code, 0),
                "checked": g.code in thematiques,
                "open": any(c["checked"] for c in children),
                "children": children,
            }
        )
    return [
        {"name": "publics", "legend": "Public", "options": _facet_options(facets, "publics", vocabulary.publics(), args.getlist("publics"))},
        {"name": "frais", "legend": "Frais", "options": _facet_options(facets, "frais", vocabulary.frais(), args.getlist("frais"))},
        {"name": "types", "legend": "Type d'offre", "options": _facet_options(facets, "types", vocabulary.types(), args.getlist("types"))},
        {"name": "modes_accueil", "legend": "Mode d'accueil", "options": _facet_options(facets, "modes_accueil", vocabulary.modes_accueil(), args.getlist("modes_accueil"))},
        {"name": "sources", "legend": "Source", "options": _facet_options(facets, "sources", {k: k for k in sorted(facets.get("sources", {}))} | {s: s for s in args.getlist("sources")}, args.getlist("sources"))},
    ], groups


# The parameters of a search (what a link back to the results may carry).
SEARCH_PARAMETERS = {
    "commune", "code_commune", "q", "thematiques", "publics", "frais", "types", "modes_accueil",
    "mobilisable_par", "sources", "rayon_km", "ouvert_le", "tri", "page", "size", "territoire",
    "lat", "lon", "latitude", "longitude", "structure", "exclure_doublons",
}

# Filters a person may have added, in the order the form sends them.
_DROPPABLE = ("q", "thematiques", "publics", "frais", "types", "modes_accueil", "sources", "ouvert_le")
_FILTER_WORDS = {
    "q": i18n.N_("sans les mots-clés"), "thematiques": i18n.N_("sans le besoin « %(label)s »"),
    "publics": i18n.N_("sans le public « %(label)s »"),
    "frais": i18n.N_("sans le filtre de frais « %(label)s »"), "types": i18n.N_("sans le type « %(label)s »"),
    "modes_accueil": i18n.N_("sans le mode d'accueil « %(label)s »"),
    "sources": i18n.N_("sans la source « %(label)s »"),
    "ouvert_le": i18n.N_("sans la date d'ouverture"),
}


def _filter_label(name: str, value: str) -> str:
    labels = {
        "thematiques": {g.code: g.label for g in vocabulary.spie_groups()} | vocabulary.thematiques(),
        "publics": vocabulary.publics(), "frais": vocabulary.frais(), "types": vocabulary.types(),
        "modes_accueil": vocabulary.modes_accueil(),
    }.get(name, {})
    return i18n.label(labels.get(value, value))


def _suggestions(args: MultiDict, query, radius_km: float) -> list[dict]:
    """For an empty result: the nearest changes that give results, each with the
    number of offers it finds (searches of one row, without facets)."""
    candidates: list[tuple[str, MultiDict]] = []
    if query.code_commune and radius_km < 200:
        wider = min(200, max(radius_km * 2, 100))
        larger = MultiDict(args)
        larger.setlist("rayon_km", [f"{wider:g}"])
        candidates.append((_("dans un rayon de %(km)s km", km=f"{wider:g}"), larger))
    filled = [(k, v) for k, v in args.items(multi=True) if k in _DROPPABLE and v]
    if filled:
        name, value = filled[-1]
        fewer = MultiDict(args)
        fewer.setlist(name, [v for v in args.getlist(name) if v != value])
        words = _FILTER_WORDS[name]
        label = _(words, label=_filter_label(name, value)) if "%(label)s" in words else _(words)
        candidates.append((label, fewer))
    if "a-distance" not in args.getlist("modes_accueil"):
        remote = MultiDict(args)
        remote.setlist("modes_accueil", ["a-distance"])
        candidates.append((_("seulement les offres à distance (téléphone, en ligne)"), remote))
    out = []
    for label, changed in candidates:
        changed.poplist("page")
        changed.poplist("cursor")
        try:
            variant = search_.parse_query(changed)
        except InvalidQuery:
            continue
        found = search_.run_search(replace(variant, size=1, with_facets=False), log=False).total
        if found:
            out.append({"label": label, "count": found, "url": _url_with(changed)})
    return out


def _page_numbers(page: int, pages: int) -> list[int | None]:
    """1 … p-2 p-1 p p+1 p+2 … last; None stands for a gap."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def results_view(session, args: MultiDict) -> dict:
    """The results page as one plain dict. Raises search.errors.InvalidQuery."""
    settings = _settings()
    query = search_.parse_query(args)
    # The filters count with search.facet_counts (what ticking gives), not the engine's facets.
    page = search_.run_search(replace(query, with_facets=False), log=True)
    services = pq.services_in_order(session, [h.id for h in page.hits])
    distances = {h.id: h.distance_m for h in page.hits}
    zone_codes = {code for s in services for code in (s.zone_eligibilite or [])}
    names = pq.zone_names(session, zone_codes)
    today = views.now_paris().date()
    now = views.now_paris()
    results = [views.service_summary(s, names, today, distances.get(s.id), at=now) for s in services]
    points = pq.places_of(services)
    located = [
        maps.MapPoint(points[s.id][0], points[s.id][1], s.nom, url_for("public.service", service_id=s.id))
        for s in services
        if s.id in points and not views.is_remote_only(s)
    ]
    remote = [r for r in results if r["a_distance"]]
    pages = max(1, math.ceil(page.total / page.size)) if page.size else 1
    filters, groups = _filters(search_.click_counts(query), args)
    commune = pq.commune(session, query.code_commune) if query.code_commune else None
    map_ = None
    if located:
        m = maps.new_map(
            tiles_url=settings.tiles_url, attribution=settings.tiles_attribution, label=_("Carte des résultats de cette page")
        )
        maps.add_points(m, located)
        map_ = maps.render(
            m, without_js=_("Sans JavaScript, la carte ne s'affiche pas : elle montrerait les lieux d'accueil "
                            "de %(nombre)s offre(s) de cette page.", nombre=len(located))
            if i18n.current() != "fr" else
            f"Sans JavaScript, la carte ne s'affiche pas : elle montrerait les lieux d'accueil "
            f"de {len(located)} offre{'s' if len(located) > 1 else ''} de cette page.",
            list_anchor="#resultats")
    query_string = _encode(args)
    return {
        "args": args,
        "query_string": query_string,
        "commune": commune,
        "q": args.get("q", ""),
        "total": page.total,
        "page": page.page,
        "pages": pages,
        "size": page.size,
        "results": results,
        "remote": remote,
        "located": len(located),
        "map": map_,
        "filters": filters,
        "groups": groups,
        "sorts": SORTS,
        "tri": args.get("tri") or "pertinence",
        "rayon_km": args.get("rayon_km") or settings.default_radius_km,
        "ouvert_le": args.get("ouvert_le", ""),
        "active_filters": sum(1 for k, v in args.items(multi=True)
                              if v and k in _DROPPABLE and k != "q"),
        "suggestions": [] if page.total else _suggestions(args, query, query.radius_km or settings.default_radius_km),
        "contact_email": settings.contact_email,
        "page_links": [
            {"number": n, "url": _url_with(args, page=str(n)) if n else None, "current": n == page.page}
            for n in _page_numbers(page.page, pages)
        ] if pages > 1 else [],
        "prev_url": _url_with(args, page=str(page.page - 1)) if page.page > 1 else None,
        "next_url": _url_with(args, page=str(page.page + 1)) if page.page < pages else None,
        "next_cursor": page.next_cursor,
    }


@bp.get("/recherche")
def results():
    session = get_session()
    args, choose = _resolve_commune_arg(session, MultiDict(request.args))
    if choose is not None:
        status = 200 if choose["choices"] else 400
        return render_template("public/choose_commune.html", args=args, **choose), status
    try:
        view = results_view(session, args)
    except InvalidQuery as exc:
        return render_template("public/results_error.html", field=exc.field, message=exc.message, args=args), 400
    except SearchUnavailable:
        return render_template(
            "error.html",
            code=503,
            title="Recherche momentanément indisponible",
            message="Le moteur de recherche ne répond pas. Réessayez dans quelques instants.",
        ), 503
    return render_template("public/results.html", **view)


# ---------------------------------------------------------------- service and structure

def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def service_page_detail(session, service_id: uuid.UUID) -> dict:
    """What the public page of a service shows (its detail, map, route and the way
    back to the search); 404 when it is not public. (The API's record of a service
    is web.api.catalogue.service_view.)"""
    service = pq.service_with_structure(session, service_id)
    if service is None:
        abort(404)
    settings = _settings()
    names = pq.zone_names(session, set(service.zone_eligibilite or []))
    detail = views.service_detail(service, names, views.now_paris())
    m = maps.new_map(
        tiles_url=settings.tiles_url, attribution=settings.tiles_attribution, label=_("Zone d'éligibilité et lieu de l'offre")
    )
    drawn = False
    for code in (service.zone_eligibilite or [])[:5]:
        geometry = _zone_geometry(session, code)
        if geometry:
            maps.add_zone(m, geometry, names.get(code, code))
            drawn = True
    point = pq.service_point(session, service.id)
    if point:
        maps.add_points(m, [maps.MapPoint(point[0], point[1], service.nom)], cluster=False)
        drawn = True
    detail["map"] = maps.render(
        m, without_js=_("Sans JavaScript, la carte ne s'affiche pas : elle montrerait la zone d'éligibilité "
                        "et le lieu de l'offre, décrits ci-contre en toutes lettres."),
    ) if drawn else None
    detail["itineraire"] = _directions(point, service.nom) if point and not views.is_remote_only(service) else None
    detail["retour"] = _search_back(request.args.get("retour"))
    return detail


def _directions(point: tuple[float, float], name: str) -> dict:
    """A route planner's link for the place (a setting) and a `geo:` URI, which
    phones open in their own maps application."""
    lon, lat = point
    template = _settings().route_planner_url
    planner = template.format(lat=f"{lat:.6f}", lon=f"{lon:.6f}") if template else None
    label = quote(name[:80])
    return {"url": planner, "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({label})"}


def _search_back(retour: str | None) -> str:
    """The search a person came from (`retour`, the query string of the results
    page), rebuilt from the search's own parameters only: never another site."""
    if not retour:
        return url_for("public.results")
    kept = [(k, v) for k, v in parse_qsl(retour[:2000], keep_blank_values=False) if k in SEARCH_PARAMETERS]
    return i18n.join_query(url_for("public.results"), urlencode(kept))


def _zone_geometry(session, code: str) -> dict | None:
    """Zone boundaries are cached per process: a département's union takes ~0.1 s."""
    cache = current_app.extensions["offre"].setdefault("zone_geojson", {})
    if code not in cache:
        if len(cache) > 2000:
            cache.clear()
        cache[code] = pq.zone_geojson(session, code)
    return cache[code]


@bp.get("/services/<service_id>")
def service(service_id):
    detail = service_page_detail(get_session(), _uuid_or_404(service_id))
    return render_template("public/service.html", s=detail, report={}, errors={})


@bp.post("/services/<service_id>/signaler")
def report_error(service_id):
    session = get_session()
    sid = _uuid_or_404(service_id)
    service = pq.service_with_structure(session, sid)
    if service is None:
        abort(404)
    message = (request.form.get("message") or "").strip()
    email = (request.form.get("email") or "").strip()
    errors = {}
    if len(message) < MESSAGE_MIN:
        errors["message"] = _("Message : décrivez l'erreur en %(min)s caractères au moins.", min=MESSAGE_MIN)
    elif len(message) > MESSAGE_MAX:
        errors["message"] = _("Message : %(max)s caractères au plus.", max=MESSAGE_MAX)
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        errors["email"] = _("Courriel : adresse invalide (exemple : nom@domaine.fr).")
    if errors:
        detail = service_page_detail(session, sid)
        return render_template(
            "public/service.html", s=detail, report={"message": message, "email": email}, errors=errors
        ), 400
    set_actor(session, "public:signalement")
    report = ErrorReport(service_id=sid, message=message, email=email or None)
    session.add(report)
    moderation.enqueue_report(session, report, service)  # the moderators' queue
    session.commit()
    settings = _settings()
    recipients = [a for a in (service.structure.courriel, service.courriel, settings.contact_email) if a]
    recipients = list(dict.fromkeys(recipients))
    link = settings.base_url.rstrip("/") + url_for("public.service", service_id=sid)
    body = (
        f"Une erreur a été signalée sur l'offre « {service.nom} » ({service.structure.nom}).\n\n"
        f"Message :\n{message}\n\n"
        f"Courriel de la personne : {email or 'non donné'}\n"
        f"Fiche : {link}\n"
    )
    try:
        send_mail(settings, recipients, f"Signalement d'une erreur : {service.nom}", body)
        flash(_("Merci : votre signalement est enregistré et a été transmis à la structure et à l'équipe du SPIE."), "success")
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("error report %s stored, mail not sent: %s", report.id, exc)
        flash(_(
            "Merci : votre signalement est enregistré. Le courriel de prévenance n'a pas pu partir ; "
            "l'équipe du SPIE le verra dans sa file de modération."),
            "warning",
        )
    return redirect(url_for("public.service", service_id=sid) + "#signaler")


@bp.get("/structures/<structure_id>")
def structure(structure_id):
    session = get_session()
    sid = _uuid_or_404(structure_id)
    found = pq.structure_with_services(session, sid)
    if found is None:
        abort(404)
    services = pq.published_services_of(session, sid)
    for s in services:
        s.structure = found
    names = pq.zone_names(session, {c for s in services for c in (s.zone_eligibilite or [])})
    today = views.now_paris().date()
    return render_template(
        "public/structure.html",
        structure=found,
        adresse=views._address(found),
        horaires=views.hours_words(found.horaires_accueil, views.now_paris()),
        reseaux=views.labels(found.reseaux_porteurs, vocabulary.reseaux_porteurs()),
        services=[views.service_summary(s, names, today) for s in services],
    )


# The public map's routes, on this blueprint (web/public/map_routes.py).
from web.public import map_routes  # noqa: E402, F401
