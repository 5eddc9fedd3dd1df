"""The security matrix: EVERY back-office route (every rule of app.url_map under
/espace, whoever wrote it) × every role. A route that is not classified below fails
the test, so a new route cannot escape the matrix.

Structure B has a published offer and a draft. For each route whose arguments name
something of B, the outsiders (anonymous, verified user without structure, member
of A, admin of A, moderator of another département) are refused (302 to the login
page for the anonymous, else 403 or 404) and B's data is unchanged; the insiders
(member of B, moderator of the département, administrator) get through on the
offer routes. Pages that are not about one structure must not show B's draft. A
member of a CTO committee is an outsider here: the CTO gives no right on offers.

Every other route of the application is classified in test_route_matrix.py."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from catalogue import tokens
from catalogue.accounts import Invitation, JoinRequest, Membership, ModerationItem
from tests.auth_helpers import csrf_token, make_user
from tests.web.backoffice.conftest import log_in
from web.app import create_app
from web.settings import Settings

ROLES = ["anonyme", "verifie", "membre_a", "admin_a", "membre_b", "moderateur_autre", "moderateur", "administrateur",
         "membre_cto_a"]
OUTSIDERS = {"anonyme", "verifie", "membre_a", "admin_a", "moderateur_autre", "membre_cto_a"}
INSIDERS = {"membre_b", "moderateur", "administrateur"}

# endpoint -> kind:
#  "offre":      an offer route of the back office: outsiders refused, insiders allowed;
#  "structure":  managing B (members, invitations, join requests): outsiders refused;
#  "moderation": moderators only; another département's moderator cannot act on B;
#  "personnel":  the user's own pages: anonymous sent to log in, B's draft never shown;
#  "demande":    asking to join B: any verified user may (it is the point), B's
#                offers, members and invitations stay unchanged.
POLICY = {
    "backoffice.dashboard": "offre",
    "backoffice.new": "offre",
    "backoffice.edit": "offre",
    "backoffice.preview": "offre",
    "backoffice.publish": "offre",
    "backoffice.duplicate": "offre",
    "backoffice.archive": "offre",
    "backoffice.restore": "offre",
    "backoffice.confirm": "offre",
    "backoffice.service_history": "offre",
    "backoffice.structure_history": "offre",
    "backoffice.queue": "moderation",
    "backoffice.stale": "moderation",
    "backoffice.decide": "moderation",
    "members.members": "structure",
    "members.invite": "structure",
    "members.change_role": "structure",
    "members.remove_member": "structure",
    "members.resend_invitation": "structure",
    "members.cancel_invitation": "structure",
    "members.decide": "structure",
    "members.end_member_sessions": "structure",
    "tokens.tokens_page": "structure",
    "tokens.create": "structure",
    "tokens.revoke": "structure",
    "members.join": "personnel",
    "members.request_to_join": "demande",
    "auth.espace": "personnel",
    "auth.change_password": "personnel",
    "auth.end_my_sessions": "personnel",
}


def _rules():
    app = create_app(Settings(database_url="postgresql+psycopg://matrix@localhost/none", offre_env="test"))
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule == "/espace" or rule.rule.startswith("/espace/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, rule.rule, method))
    return sorted(found)


RULES = _rules()


def test_every_back_office_route_is_in_the_matrix():
    missing = sorted({endpoint for endpoint, _, _ in RULES} - set(POLICY))
    assert not missing, f"routes du back-office absentes de la matrice : {missing}"
    assert {"backoffice.edit", "backoffice.archive", "members.invite"} <= {e for e, _, _ in RULES}


# Everything a forged form could try at once.
PAYLOAD = {
    "nom": "Offre piratée", "description": "<script>alert(1)</script>", "action": "publier",
    "thematiques": ["mobilite--preparer-un-permis"], "publics": ["tous-publics"], "commune": "Laon",
    "frequence_maj_jours": "30", "email": "intrus@example.org", "role": "admin", "decision": "masquer",
    "commentaire": "intrusion", "cible": "", "message": "Je veux entrer.", "password": "x" * 12,
    "name": "Jeton de l'intrus", "scopes": ["read", "write"],
}


def _snapshot(db, world) -> str:
    """B's data, whole: structure, offers, members, invitations, join requests,
    moderation, taken-over fields, reminders."""
    b = str(world["b"].id)
    queries = {
        "structure": "SELECT to_jsonb(s) - 'updated_at' FROM structure s WHERE id = :b",
        "services": "SELECT to_jsonb(s) - 'updated_at' FROM service s WHERE structure_id = :b ORDER BY id",
        "memberships": "SELECT to_jsonb(m) FROM membership m WHERE structure_id = :b ORDER BY id",
        "invitations": "SELECT to_jsonb(i) FROM invitation i WHERE structure_id = :b ORDER BY id",
        "join": "SELECT to_jsonb(j) FROM join_request j WHERE structure_id = :b ORDER BY id",
        "items": "SELECT to_jsonb(m) FROM moderation_item m WHERE structure_id = :b ORDER BY id",
        "decisions": "SELECT to_jsonb(d) FROM moderation_decision d JOIN moderation_item m ON m.id = d.item_id WHERE m.structure_id = :b",
        "taken": "SELECT to_jsonb(t) FROM taken_over_field t JOIN service s ON s.id = t.service_id WHERE s.structure_id = :b",
        "tokens": "SELECT to_jsonb(t) - 'last_used_at' FROM api_token t WHERE structure_id = :b ORDER BY id",
        "services_total": "SELECT count(*) FROM service",
    }
    state = {k: [r[0] for r in db.execute(text(q), {"b": b})] for k, q in queries.items()}
    return json.dumps(state, sort_keys=True, default=str)


def _snapshot_without_join(db, world) -> str:
    state = json.loads(_snapshot(db, world))
    state.pop("join")
    return json.dumps(state, sort_keys=True)


@pytest.fixture
def targets(db, world):
    """Something of B for every kind of argument a route may take."""
    b = world["b"]
    requester = make_user(db, email="demandeur@example.org")
    join = JoinRequest(structure_id=b.id, user_id=requester.id, message="Bonjour")
    invitation = Invitation(structure_id=b.id, email="invite-b@example.org")
    item = ModerationItem(kind="nouvelle_offre", service_id=world["b_draft"].id, structure_id=b.id)
    db.add_all([join, invitation, item])
    db.flush()
    token, _ = tokens.create_token(db, b.id, scopes=["read", "write"], name="Logiciel de B")
    membership = db.scalars(
        Membership.__table__.select().where(Membership.structure_id == b.id)
    ).first()
    db.commit()
    return {
        "structure_id": str(b.id),
        "service_id": str(world["b_draft"].id),
        "item_id": str(item.id),
        "membership_id": str(membership),
        "invitation_id": str(invitation.id),
        "request_id": str(join.id),
        "decision": "accepter",
        "token_id": str(token.id),
    }


def _url(rule: str, targets: dict) -> str:
    def fill(match):
        name = match.group(1).split(":")[-1]
        assert name in targets, f"argument de route inconnu de la matrice : {name} ({rule})"
        return targets[name]

    return re.sub(r"<([^>]+)>", fill, rule)


def _as(client, world, role):
    with client.session_transaction() as s:
        s.clear()
    if role != "anonyme":
        log_in(client, world["users"][role])


def _refused(response) -> bool:
    if response.status_code in (403, 404):
        return True
    return response.status_code in (302, 303) and "/connexion" in response.headers.get("Location", "")


@pytest.mark.parametrize(("endpoint", "rule", "method"), RULES, ids=[f"{m} {r}" for _, r, m in RULES])
def test_matrix(client, db, world, targets, endpoint, rule, method):
    kind = POLICY.get(endpoint)
    assert kind is not None, f"route absente de la matrice : {endpoint} ({rule})"
    url = _url(rule, targets)
    problems = []
    for role in ROLES:
        _as(client, world, role)
        before = _snapshot(db, world)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf_token(client), **PAYLOAD})
        body = response.get_data(as_text=True)
        after = _snapshot(db, world)
        where = f"{role} {method} {url} → {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{where} : erreur serveur")
            continue
        outsider = role in OUTSIDERS
        if kind in ("offre", "structure"):
            if outsider:
                if not _refused(response):
                    problems.append(f"{where} : un extérieur à B n'est pas refusé")
                if after != before:
                    problems.append(f"{where} : les données de B ont changé")
                if "Brouillon secret de B" in body:
                    problems.append(f"{where} : le brouillon de B est montré")
            elif kind == "offre" and _refused(response):
                problems.append(f"{where} : un membre ou modérateur de B est refusé")
        elif kind == "moderation":
            if role in ("anonyme", "verifie", "membre_a", "admin_a", "membre_b", "membre_cto_a"):
                if not _refused(response):
                    problems.append(f"{where} : la modération est ouverte à un non-modérateur")
                if after != before:
                    problems.append(f"{where} : les données de B ont changé")
            elif role == "moderateur_autre":
                if method == "POST" and not _refused(response):
                    problems.append(f"{where} : un modérateur d'un autre département décide pour B")
                if after != before:
                    problems.append(f"{where} : les données de B ont changé")
                if "Brouillon secret de B" in body:
                    problems.append(f"{where} : le brouillon de B est montré hors territoire")
            elif _refused(response):
                problems.append(f"{where} : un modérateur de B est refusé")
        elif kind in ("personnel", "demande"):
            if role == "anonyme" and not _refused(response):
                problems.append(f"{where} : page personnelle ouverte sans connexion")
            if role in OUTSIDERS and "Brouillon secret de B" in body:
                problems.append(f"{where} : le brouillon de B est montré")
            changed = _snapshot_without_join(db, world) if kind == "demande" else after
            reference = before if kind != "demande" else json.dumps(
                {k: v for k, v in json.loads(before).items() if k != "join"}, sort_keys=True)
            if role in OUTSIDERS and changed != reference:
                problems.append(f"{where} : les données de B ont changé")
        # Undo what an insider legitimately did, so the next role starts from the same B.
        if after != before:
            db.rollback()
            _restore(db, world, json.loads(before))
    assert not problems, "\n".join(problems)


def _restore(db, world, state) -> None:
    """Put B's offers back as they were (an insider's legitimate write)."""
    for row in state["services"]:
        db.execute(text("UPDATE service SET nom = :n, status = CAST(:s AS status), confirmed_at = CAST(:c AS timestamptz), "
                        "duplicate_of_id = CAST(:d AS uuid) WHERE id = CAST(:i AS uuid)"),
                   {"n": row["nom"], "s": row["status"], "c": row["confirmed_at"], "d": row["duplicate_of_id"], "i": row["id"]})
    ids = [r["id"] for r in state["services"]]
    db.execute(text("UPDATE service SET status = 'archive', structure_id = structure_id WHERE structure_id = CAST(:b AS uuid) "
                    "AND NOT (id::text = ANY(:ids))"), {"b": str(world["b"].id), "ids": ids})
    db.execute(text("UPDATE moderation_item SET status = 'a_traiter' WHERE structure_id = CAST(:b AS uuid)"), {"b": str(world["b"].id)})
    db.commit()


def test_the_snapshot_sees_a_change(db, world):
    """The matrix would be blind if the snapshot missed changes."""
    before = _snapshot(db, world)
    db.execute(text("UPDATE service SET nom = 'x' || nom WHERE id = :i"), {"i": world["b_draft"].id})
    assert _snapshot(db, world) != before
    db.execute(text("INSERT INTO invitation (structure_id, email, role, created_at) VALUES (:b, 'z@example.org', 'membre', :t)"),
               {"b": world["b"].id, "t": datetime.now(UTC)})
    assert _snapshot(db, world) != before
