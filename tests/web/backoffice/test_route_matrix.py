"""The whole application × every role: EVERY rule of app.url_map (public pages,
accounts, /espace, /cto, /pilotage, /api; static files excepted) is classified
below, and an unclassified route fails the test.

Roles: anonymous, an account registered through the app's own /inscription flow
(no structure, no role), a member and an admin of structure A, a moderator of the
département, a CTO member of committee A, an administrator of the service.

Committee B (another territory) has a situation whose shortlist, written by
another referent, carries remarks; its owner shares it. Nobody but its members,
its creator and the administrators may read or change B's committee, agenda, PDF,
situations or list by the owner's link; a shared link opens the list (read only)
to the SPIE team and the CTO members. The /espace routes are classified in
test_matrix.py, which tries them role by role (the CTO member of committee A is
one of its outsiders)."""

from __future__ import annotations

import email
import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import select, text

from catalogue import cto
from catalogue import prescription as rx
from catalogue.accounts import User
from catalogue.cto import Committee, CtoMembership
from tests.auth_helpers import add_member, csrf_token, make_user, page_csrf_token
from tests.web.backoffice.conftest import log_in
from tests.web.backoffice.test_matrix import POLICY as ESPACE_POLICY
from tests.web.cto.conftest import make_territory
from web.app import create_app
from web.settings import Settings

ROLES = ["anonyme", "inscrit", "membre", "admin_structure", "moderateur", "membre_cto_a", "administrateur"]
SPIE_AND_CTO = {"moderateur", "membre_cto_a", "administrateur"}
CONTACT = "spie@example.org"  # CONTACT_EMAIL of the tests' settings
IN_A_MONTH = date.today() + timedelta(days=30)

# endpoint -> kind
#  "public":    anyone, without an account (GET never sends to the login page);
#  "compte":    the account pages (login, registration, links of the e-mails): anyone;
#  "api":       the public API (reads): anyone, without a cookie;
#  "api_jeton": partners' writes: a bearer token of the structure, never a session cookie;
#  "cto":       the CTO's own pages: the SPIE team and the CTO members; 403 HTML for the others;
#  "cto_b":     committee B, its situations, its list by the owner's link: its members,
#               its creator and the administrators only — not the CTO member of committee A,
#               not a moderator who has not given themselves the right;
#  "cto_acces": granting and revoking CTO memberships: administrators and moderators;
#  "pilotage":  the steering: the SPIE team and the CTO members; 403 HTML for the others;
#  "metrics":   the operator's Prometheus metrics: a bearer METRICS_TOKEN only, never a
#               role or a session cookie (401/403, or 404 while no token is set);
#  "espace":    /espace, see test_matrix.py.
POLICY = {
    "observability.metrics": "metrics",
    "public.home": "public",
    "public.communes_json": "public",
    "public.results": "public",
    "public.service": "public",
    "public.report_error": "public",
    "public.structure": "public",
    "public.public_map": "public",
    "public.map_clusters": "public",
    "public.basemap": "public",
    "public.map_popup": "public",
    "exports.export_csv": "public",
    "exports.export_xlsx": "public",
    "exports.export_pdf": "public",
    # A selection for the person (issue 19): anyone builds one in their own session;
    # a short link opens to whoever holds its token; only its creator deletes it.
    "selection.page": "public",
    "selection.add": "public",
    "selection.remove": "public",
    "selection.move": "public",
    "selection.clear": "public",
    "selection.pdf": "public",
    "selection.send": "public",
    "selection.share": "public",
    "selection.shared": "public",
    "selection.shared_pdf": "public",
    "selection.delete_link": "public",
    "imports.template": "public",
    "health.healthz": "public",
    "auth.login": "compte",
    "auth.logout": "compte",
    "auth.register": "compte",
    "auth.verify": "compte",
    "auth.forgot_password": "compte",
    "auth.reset_password": "compte",
    "auth.oidc_start": "compte",
    "auth.oidc_callback": "compte",
    "members.invitation": "compte",
    "api_catalogue.service_detail": "api",
    "api_catalogue.structure_detail": "api",
    "api_catalogue.sources": "api",
    "api_catalogue.thematiques": "api",
    "api_geo.communes": "api",
    "api_geo.territories": "api",
    "api_geo.territory_detail": "api",
    "api_export.services": "api",
    "api_export.structures": "api",
    "search_api.ServiceSearch": "api",
    "api-docs.openapi_json": "api",
    "api-docs.openapi_swagger_ui": "api",
    "api_partners.partner_service": "api_jeton",
    "api_partners.put_service": "api_jeton",
    "api_partners.post_service": "api_jeton",
    "api_partners.archive_service": "api_jeton",
    "cto.home": "cto",
    "cto.levers_form": "cto",
    "cto.levers_find": "cto",
    "cto.committees": "cto",
    "cto.committee_create": "cto",
    "cto.shared": "cto",
    "cto.shared_pdf": "cto",
    "cto.committee": "cto_b",
    "cto.committee_pdf": "cto_b",
    "cto.situation_add": "cto_b",
    "cto.situation_remove": "cto_b",
    "cto.shortlist": "cto_b",
    "cto.shortlist_pdf": "cto_b",
    "cto.situation_add_from_list": "cto_b",
    "cto.shortlist_note": "cto_b",
    "cto.shortlist_share": "cto_b",
    "cto.shortlist_delete": "cto_b",
    "cto.access": "cto_acces",
    "cto.access_grant": "cto_acces",
    "cto.access_revoke": "cto_acces",
    "cto.dashboard": "pilotage",
    "cto.dashboard_csv": "pilotage",
    "cto.coverage_page": "pilotage",
    "cto.coverage_csv": "pilotage",
    "cto.coverage_synthesis": "pilotage",
    "cto.coverage_synthesis_csv": "pilotage",
    "cto.demand": "pilotage",
    "cto.demand_csv": "pilotage",
    # Orientations (feat-orient): "orientation" = a logged-in professional's pages; the
    # orientation of the matrix (to structure B, sent by B's referent) is read only by
    # the SPIE team of its territory here (moderateur of 02, administrateur);
    # "droits" = the rights of access and erasure: the SPIE team only.
    "orientation.new": "orientation",
    "orientation.create": "orientation",
    "orientation.mine": "orientation",
    "orientation.inbox": "orientation",
    "orientation.detail": "orientation",
    "orientation.decide": "orientation",
    "orientation.reply": "orientation",
    # orient-attach: an orientation's file, downloaded by who reads the orientation only
    # (its bytes carry ORIENTATION_SECRET: the matrix checks no one else gets them).
    "orientation_files.download": "orientation",
    "orientation_rights.rights": "droits",
    "orientation_rights.rights_action": "droits",
    "orientation_steering.page": "pilotage",
    "orientation_steering.csv": "pilotage",
    # SPIE prescriptions (feat-prescr)
    "prescriptions.new": "prescrire",
    "prescriptions.create": "prescrire",
    "prescriptions.mine": "prescrire",
    "prescriptions.detail": "prescription_b",
    "prescriptions.team": "spie_equipe",
    "prescriptions.to_committee": "spie_b",
    "prescriptions.plan_add": "spie_b",
    "prescriptions.plan_status": "spie_b",
    "prescriptions.status": "spie_b",
    "prescription_steering.page": "pilotage",
    "prescription_steering.csv": "pilotage",
}
# Prescriptions (feat-prescr):
#  "prescrire":       the form and « Mes prescriptions »: any referent of a structure, the SPIE
#                     team and the CTO members; not an account with no role (403 HTML);
#  "prescription_b":  a prescription of territory B: its prescriber and B's SPIE team (here the
#                     moderator of the département and the administrators) — nobody else, not a
#                     member of committee A (404, as an unknown id);
#  "spie_equipe":     the SPIE team's list: the SPIE team of a territory (not a committee member);
#  "spie_b":          the SPIE team's work on a prescription of B: B's SPIE team only.
PRESCRIPTION_ALLOWED = {
    "prescrire": {"membre", "admin_structure", "moderateur", "membre_cto_a", "administrateur"},
    "prescription_b": {"moderateur", "administrateur"},
    "spie_equipe": {"moderateur", "administrateur"},
    "spie_b": {"moderateur", "administrateur"},
}
ORIENTATION_SECRET = "Personne secrète B"
ORIENTATION_READERS = {"moderateur", "administrateur"}


def _rules():
    app = create_app(Settings(database_url="postgresql+psycopg://matrix@localhost/none", offre_env="test"))
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, rule.rule, method))
    return sorted(found, key=lambda r: (r[1], r[2]))


RULES = _rules()
CHECKED = [r for r in RULES if not (r[1] == "/espace" or r[1].startswith("/espace/"))]


def test_every_route_of_the_application_is_classified():
    espace = {e for e, rule, _ in RULES if rule == "/espace" or rule.startswith("/espace/")}
    others = {e for e, rule, _ in RULES} - espace
    missing = sorted((others - set(POLICY)) | (espace - set(ESPACE_POLICY)))
    assert not missing, f"routes absentes de la matrice : {missing}"
    # The matrix covers what it says.
    prefixes = {rule.split("/")[1] for _, rule, _ in RULES}
    assert {"", "cto", "pilotage", "api", "espace", "services", "recherche", "carte"} <= prefixes
    assert len(CHECKED) > 60


def _registered_through_the_app(client, db, smtp) -> User:
    """An account made by /inscription and confirmed by the link of its e-mail,
    as anybody can."""
    address = "inscrite@example.org"
    password = "une phrase de passe solide"
    r = client.post("/inscription", data={
        "csrf_token": page_csrf_token(client, "/inscription"), "email": address, "nom": "Ines Inscrite",
        "password": password, "password_confirm": password,
    })
    assert r.status_code == 200, r.status_code
    for _ in range(250):
        if smtp.messages:
            break
        time.sleep(0.02)
    message = email.message_from_bytes(smtp.messages[-1].content, policy=policy.default)
    link = re.search(r"https?://[^/\s]+(/verifier/\S+)", message.get_content()).group(1)
    assert client.get(link).status_code == 302
    r = client.post("/connexion", data={"csrf_token": page_csrf_token(client, "/connexion"), "email": address,
                                        "password": password})
    assert r.status_code == 302
    user = db.scalar(select(User).where(User.email == address))
    assert user.email_verified_at is not None and not user.memberships and not user.moderator_scopes
    return user


@pytest.fixture
def cto_world(db, client, world, smtp):
    """Two territories; committee A (the CTO member's) and committee B, created by
    its organiser, with a situation and a shortlist of another referent, shared."""
    make_territory(db, "saint-quentinois", "Saint-Quentinois", ["02691"])
    users = dict(world["users"])
    inscrit = _registered_through_the_app(client, db, smtp)
    organiser = make_user(db, email="organisatrice-b@example.org")
    referent_b = make_user(db, email="referent-b@example.org")
    committee_a = world["committee_a"]
    committee_b = cto.create_committee(db, "saint-quentinois", IN_A_MONTH, organiser.id)
    membership_b = cto.grant(db, referent_b.id, committee=committee_b)
    shortlist = cto.save_shortlist(
        db, code_commune="02691", publics=[], barriers=["mobilite"], constraints={},
        remarks="Remarque secrète de B", results={"mobilite": [str(world["b_pub"].id)]}, days=30,
        user_id=referent_b.id, now=datetime.now(UTC),
    )
    cto.annotate(shortlist, str(world["b_pub"].id), "Note secrète de B")
    cto.share(shortlist)
    situation = cto.add_situation(db, committee_b, "B-DOS-1", shortlist.id, referent_b.id)
    from catalogue.orientation import Person, create_orientation

    orientation = create_orientation(
        db, referent=referent_b, service=world["b_pub"], person=Person(ORIENTATION_SECRET, "secret-b@example.org"),
        needs=["mobilite--preparer-un-permis"], message=None, consent=True)
    from catalogue import orientation_attachment as attachment_files

    (attachment,) = attachment_files.attach(db, orientation, [attachment_files.Upload(
        "piece.pdf", "application/pdf", b"%PDF-1.4 " + ORIENTATION_SECRET.encode())])
    add_member(db, referent_b, world["b"])
    prescription_b = rx.create(db, referent_b, {
        "territoire": "saint-quentinois", "cohorte": f"{date.today():%Y-%m}", "personne_nom": "Personne secrète de B",
        "situation": "Situation secrète de B", "freins": ["mobilite"], "referent_nom": "Référent B",
        "referent_courriel": "referent-b@example.org", "consentement": "oui", "consentement_par": "personne",
        "consentement_date": date.today().isoformat()}, date.today(), datetime.now(UTC))
    action_b = rx.add_action(db, prescription_b, referent_b, {"type": "levier", "description": "Action de B"})
    db.commit()
    users.update({"inscrit": inscrit, "membre": users["membre_a"], "admin_structure": users["admin_a"]})
    targets = {
        "service_id": str(world["a_pub"].id), "structure_id": str(world["a"].id), "slug": "laonnois",
        "name": "offres.csv", "partner_id": "atelier-1", "token": "jeton-inconnu",
        "committee_id": str(committee_b.public_id), "situation_id": str(situation.public_id),
        "membership_id": str(membership_b.id), "share_token": shortlist.share_token,
        "orientation_id": str(orientation.public_id), "attachment_id": str(attachment.public_id),
        "public_id": str(prescription_b.public_id), "action_id": str(action_b.public_id),
    }
    return {"users": users, "committee_b": committee_b, "shortlist": shortlist, "targets": targets,
            "committee_a": committee_a}


def _url(endpoint: str, rule: str, targets: dict) -> str:
    def fill(match):
        name = match.group(1).split(":")[-1]
        if endpoint.startswith("cto.") and name == "token":
            return targets["shortlist_token"]
        if endpoint == "cto.dashboard_csv" and name == "name":
            return "thematiques"
        assert name in targets, f"argument de route inconnu de la matrice : {name} ({rule})"
        return targets[name]

    return re.sub(r"<([^>]+)>", fill, rule)


def _snapshot_b(db, world) -> str:
    """Committee B whole: the committee, its situations, their list, its members."""
    b = world["committee_b"].id
    queries = {
        "committee": "SELECT to_jsonb(c) FROM cto_committee c WHERE id = :b",
        "situations": "SELECT to_jsonb(s) FROM cto_situation s WHERE committee_id = :b ORDER BY id",
        "lists": "SELECT to_jsonb(l) FROM cto_shortlist l WHERE id = :l",
        "members": "SELECT to_jsonb(m) FROM cto_membership m WHERE committee_id = :b ORDER BY id",
        "committees": "SELECT count(*) FROM cto_committee WHERE territory_slug = 'saint-quentinois'",
        "prescriptions": "SELECT to_jsonb(p) FROM spie_prescription p WHERE territory_slug = 'saint-quentinois' "
                         "ORDER BY id",
        "plan": "SELECT to_jsonb(a) FROM spie_plan_action a JOIN spie_prescription p ON p.id = a.prescription_id "
                "WHERE p.territory_slug = 'saint-quentinois' ORDER BY a.id",
    }
    params = {"b": b, "l": world["shortlist"].id}
    return json.dumps({k: [r[0] for r in db.execute(text(q), params)] for k, q in queries.items()},
                      sort_keys=True, default=str)


SECRETS = ("Remarque secrète de B", "Note secrète de B", "B-DOS-1", "Personne secrète de B",
           "Situation secrète de B")


def _payload(world) -> dict:
    return {
        "reference": "INTRUS-1", "liste": "", "comite": str(world["committee_b"].public_id), "note": "intrusion",
        "offre": world["targets"]["service_id"], "action": "partager", "courriel": "inscrite@example.org",
        "territoire": "saint-quentinois", "date": IN_A_MONTH.isoformat(), "message": "Une erreur sur la fiche.",
        "email": "intrus@example.org", "password": "x" * 12, "nom": "Intrus",
    }


def _as(client, users, role):
    with client.session_transaction() as s:
        s.clear()
    if role != "anonyme":
        log_in(client, users[role])


def _to_login(response) -> bool:
    return response.status_code in (302, 303) and "/connexion" in response.headers.get("Location", "")


def _refused(response) -> bool:
    return response.status_code in (403, 404) or _to_login(response)


def _refused_page(response) -> str | None:
    """What is wrong with a refusal of /cto or /pilotage: it must be an HTML page
    (403) that says who to ask."""
    if response.status_code != 403:
        return f"{response.status_code} au lieu de 403"
    if response.mimetype != "text/html":
        return f"réponse {response.mimetype} au lieu d'une page HTML"
    if CONTACT not in response.get_data(as_text=True):
        return "la page ne dit pas à qui demander l'accès"
    return None


@pytest.mark.parametrize(("endpoint", "rule", "method"), CHECKED, ids=[f"{m} {r}" for _, r, m in CHECKED])
def test_route_matrix(client, db, world, cto_world, endpoint, rule, method):
    kind = POLICY.get(endpoint)
    assert kind is not None, f"route absente de la matrice : {endpoint} ({rule})"
    world = {**world, **cto_world}
    world["targets"]["shortlist_token"] = cto_world["shortlist"].token
    url = _url(endpoint, rule, world["targets"])
    users = cto_world["users"]
    problems = []
    for role in ROLES:
        _as(client, users, role)
        before = _snapshot_b(db, world)
        headers = {"Accept": "application/json"} if kind in ("cto", "cto_b", "cto_acces", "pilotage") else {}
        if method == "GET":
            response = client.get(url, headers=headers)
        else:
            data = {"csrf_token": csrf_token(client), **_payload(world)}
            if kind.startswith("api"):
                response = client.open(url, method=method, json={"nom": "Offre pirate"})
            else:
                response = client.open(url, method=method, data=data, headers=headers)
        body = response.get_data().decode("utf-8", "replace")
        after = _snapshot_b(db, world)
        where = f"{role} {method} {url} → {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{where} : erreur serveur")
            continue
        if kind in ("public", "api") and method == "GET" and _refused(response) and response.status_code != 404:
            problems.append(f"{where} : une page publique est refusée")
        elif kind == "api_jeton" and response.status_code != 401:
            problems.append(f"{where} : l'écriture des partenaires s'ouvre sans jeton")
        elif kind == "metrics" and response.status_code not in (401, 403, 404):
            problems.append(f"{where} : les métriques s'ouvrent sans leur jeton")
        elif kind in PRESCRIPTION_ALLOWED:
            problems.extend(_prescription_problems(kind, role, method, response, body, before != after, where))
        elif kind in ("cto", "pilotage", "cto_b", "cto_acces"):
            allowed = {"cto": SPIE_AND_CTO, "pilotage": SPIE_AND_CTO, "cto_b": {"administrateur"},
                       "cto_acces": {"moderateur", "administrateur"}}[kind]
            if role == "anonyme":
                if not _to_login(response):
                    problems.append(f"{where} : ouvert sans connexion")
            elif role in allowed:
                if method == "GET" and _refused(response):
                    problems.append(f"{where} : refusé à qui y a droit")
            elif kind == "cto_b" and role in SPIE_AND_CTO:
                if not _refused(response):
                    problems.append(f"{where} : le comité B s'ouvre à qui n'en est pas membre")
            elif problem := _refused_page(response):
                problems.append(f"{where} : {problem}")
            if role not in allowed:
                if after != before:
                    problems.append(f"{where} : les données du comité B ont changé")
                if any(secret in body for secret in SECRETS):
                    problems.append(f"{where} : une donnée du comité B est montrée")
        elif kind in ("orientation", "droits"):
            if role == "anonyme" and not _to_login(response):
                problems.append(f"{where} : ouvert sans connexion")
            if kind == "droits" and role not in ORIENTATION_READERS | {"anonyme"} and response.status_code != 403:
                problems.append(f"{where} : les droits des personnes s'ouvrent hors de l'équipe du SPIE")
            if role not in ORIENTATION_READERS and ORIENTATION_SECRET in body:
                problems.append(f"{where} : une orientation est lue par qui n'y a pas droit")
        if kind not in ("cto", "cto_b", *PRESCRIPTION_ALLOWED) and any(s in body for s in SECRETS):
            problems.append(f"{where} : une donnée du comité B est montrée")
    assert not problems, "\n".join(problems)


def _prescription_problems(kind, role, method, response, body, changed, where) -> list[str]:
    """The prescriptions' rows of the matrix (feat-prescr)."""
    allowed = PRESCRIPTION_ALLOWED[kind]
    if role == "anonyme":
        return [] if _to_login(response) else [f"{where} : ouvert sans connexion"]
    if role in allowed:
        return [f"{where} : refusé à qui y a droit"] if method == "GET" and _refused(response) else []
    problems = []
    if kind == "prescription_b" and role in PRESCRIPTION_ALLOWED["prescrire"]:
        if not _refused(response):
            problems.append(f"{where} : la prescription de B s'ouvre à qui n'y a pas droit")
    elif problem := _refused_page(response):
        problems.append(f"{where} : {problem}")
    if changed:
        problems.append(f"{where} : les données du territoire B ont changé")
    if any(secret in body for secret in SECRETS):
        problems.append(f"{where} : une donnée de B est montrée")
    return problems


def test_a_member_of_committee_a_reads_no_prescription_of_territory_b(client, db, world, cto_world):
    users = cto_world["users"]
    target = cto_world["targets"]["public_id"]
    _as(client, users, "membre_cto_a")
    assert client.get(f"/prescriptions/{target}").status_code == 404
    assert client.get("/cto/prescriptions").status_code == 403
    for path in ("comite", "plan", "statut"):
        r = client.post(f"/cto/prescriptions/{target}/{path}",
                        data={"csrf_token": csrf_token(client), "comite": str(cto_world["committee_b"].public_id),
                              "type": "levier", "description": "intrusion", "statut": "terminee"})
        assert r.status_code == 403
    assert "Personne secrète de B" not in client.get("/prescriptions").get_data(as_text=True)
    assert "Personne secrète de B" not in client.get("/pilotage/prescriptions").get_data(as_text=True)
    _as(client, users, "moderateur")
    assert "Personne secrète de B" in client.get("/cto/prescriptions").get_data(as_text=True)


def test_a_fresh_account_gets_403_on_every_cto_and_pilotage_url(client, db, world, cto_world):
    """The acceptance of issue #15: registered through /inscription, confirmed, logged
    in, and refused (403, an HTML page naming whom to ask) everywhere under /cto and
    /pilotage, whatever it sends."""
    world = {**world, **cto_world}
    world["targets"]["shortlist_token"] = cto_world["shortlist"].token
    # Committee A too, and a list of its own it could not have made.
    for target in (cto_world["committee_b"], cto_world["committee_a"]):
        world["targets"]["committee_id"] = str(target.public_id)
        _as(client, cto_world["users"], "inscrit")
        seen = 0
        for endpoint, rule, method in RULES:
            if not (rule.startswith("/cto") or rule.startswith("/pilotage")):
                continue
            url = _url(endpoint, rule, world["targets"])
            data = {"csrf_token": csrf_token(client), **_payload(world)}
            response = client.get(url) if method == "GET" else client.post(url, data=data)
            assert _refused_page(response) is None, f"{method} {url} → {response.status_code}"
            seen += 1
        assert seen >= 25
    assert db.scalar(select(CtoMembership.id).where(CtoMembership.user_id == cto_world["users"]["inscrit"].id)) is None


def test_a_cto_member_of_committee_a_reads_a_but_not_b(client, db, world, cto_world):
    users = cto_world["users"]
    _as(client, users, "membre_cto_a")
    a, b = cto_world["committee_a"], cto_world["committee_b"]
    assert client.get(f"/cto/comites/{a.public_id}").status_code == 200
    assert client.get(f"/cto/comites/{a.public_id}/ordre-du-jour.pdf").status_code == 200
    for url in (f"/cto/comites/{b.public_id}", f"/cto/comites/{b.public_id}/ordre-du-jour.pdf"):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/cto/listes/{cto_world['shortlist'].token}").status_code == 404
    listing = client.get("/cto/comites").get_data(as_text=True)
    assert str(a.public_id) in listing and str(b.public_id) not in listing
    home = client.get("/cto").get_data(as_text=True)
    assert str(b.public_id) not in home
    # The list shared by its owner opens, read only; its situation's committee stays closed.
    shared = client.get(f"/cto/partage/{cto_world['shortlist'].share_token}").get_data(as_text=True)
    assert "Remarque secrète de B" in shared and cto_world["shortlist"].token not in shared
    # No sequential id anywhere in the CTO's URLs.
    for page in (listing, home):
        assert not re.search(r"/cto/comites/\d+(/|\"|$)", page)
    assert db.get(Committee, b.id).situations[0].reference == "B-DOS-1"
