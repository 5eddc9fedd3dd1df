"""The CTO (comité technique opérationnel) and the steering of the offer: the
anonymous search log, shortlists of levers for a blocked situation, committees and
their situations (migration 0006).

Nothing here may identify a person: the search log keeps codes only (never the
free text typed), and a situation carries an internal reference chosen by the
referent (a file number such as « CTO-2026-014 »), never a name.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from catalogue import vocabulary
from catalogue.errors import ValidationError
from catalogue.models import Base
from catalogue.schemas import parse_int

MAX_SITUATIONS = 10
AGENDA_DEADLINE_DAYS = 3  # the agenda is fixed at D-3
SENDING_DAYS = 2  # and sent at D-2
DEFAULT_SHORTLIST_DAYS = 30
MAX_SHORTLIST_DAYS = 180
MAX_REMARKS = 2000
MAX_NOTE = 1000
MAX_BARRIERS = 10
LOW_RESULTS = 3  # a search with 1 to 3 results is a "low-result" one
TOO_MANY_SITUATIONS = "Un comité examine au plus 10 situations : celle-ci ne peut pas être ajoutée."

# A reference is a file number: letters, digits and separators, with at least one
# digit, so that a first and last name ("Marie Dupont") is refused.
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _./-]{0,39}$")
# What new_token() makes (URL-safe base64); anything else is no token at all.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SearchLog(Base):
    """One anonymous search: the week it was made, the thematiques asked for or
    matched by the free text (never the text itself), the commune, the other
    filters (codes only) and the number of results."""

    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    week: Mapped[date] = mapped_column(Date)  # the Monday of the week
    thematiques: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    code_commune: Mapped[str | None] = mapped_column(String(5))
    filters: Mapped[dict] = mapped_column(JSONB, default=dict)
    result_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_search_log_week", "week"),)


class Shortlist(Base):
    """The levers found for one situation: the query (commune, publics, barriers,
    constraints), the offers kept per barrier and the referent's annotations.
    Deleted after `expires_at` (offre cto purge). `remarks` and `annotations` are
    the only free text, typed by a professional; they must not name the person."""

    __tablename__ = "cto_shortlist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The owner's link (/cto/listes/<token>): only its creator and the members of a
    # committee that has it on its agenda may open it.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # Set only when the owner chooses to share the list (/cto/partage/<share_token>);
    # emptied when they stop sharing, which kills the old link.
    share_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_commune: Mapped[str] = mapped_column(String(5))
    territory_slug: Mapped[str | None] = mapped_column(String(100))
    publics: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    barriers: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    constraints: Mapped[dict] = mapped_column(JSONB, default=dict)
    remarks: Mapped[str | None] = mapped_column(Text)
    # {barrier code: [service id, …]} as found when saved.
    results: Mapped[dict] = mapped_column(JSONB, default=dict)
    # {service id: note}
    annotations: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def _public_id():
    return mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4,
                         server_default=text("gen_random_uuid()"))


class Committee(Base):
    """A committee of a territory. Its URLs carry `public_id`, never the sequential
    id (which would tell how many committees exist)."""

    __tablename__ = "cto_committee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[uuid.UUID] = _public_id()
    territory_slug: Mapped[str] = mapped_column(String(100))
    date: Mapped[date] = mapped_column(Date)
    agenda_deadline: Mapped[date] = mapped_column(Date)
    sending_date: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    situations: Mapped[list[Situation]] = relationship(
        back_populates="committee", order_by="Situation.id", cascade="all, delete-orphan"
    )


class Situation(Base):
    """A situation on a committee's agenda: an internal reference (never a name)
    and the shortlist of levers prepared for it (gone once it expires)."""

    __tablename__ = "cto_situation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[uuid.UUID] = _public_id()
    committee_id: Mapped[int] = mapped_column(ForeignKey("cto_committee.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    shortlist_id: Mapped[int | None] = mapped_column(
        ForeignKey("cto_shortlist.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    committee: Mapped[Committee] = relationship(back_populates="situations")
    shortlist: Mapped[Shortlist | None] = relationship()

    __table_args__ = (UniqueConstraint("committee_id", "reference", name="uq_cto_situation_reference"),)


class CtoMembership(Base):
    """The right of a person to take part in the CTO: for a whole territory (every
    committee of it, present and future) or for one committee. Granted by an
    administrator of the service or a moderator whose scope covers the territory
    (catalogue.permissions.can_grant_cto); revoked by deleting the row."""

    __tablename__ = "cto_membership"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    territory_slug: Mapped[str | None] = mapped_column(String(100))
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("cto_committee.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    committee: Mapped[Committee | None] = relationship()

    __table_args__ = (
        CheckConstraint("(territory_slug IS NULL) <> (committee_id IS NULL)", name="one_scope"),
        UniqueConstraint("user_id", "territory_slug", name="uq_cto_membership_user_territory"),
        UniqueConstraint("user_id", "committee_id", name="uq_cto_membership_user_committee"),
    )


# --- rules ---------------------------------------------------------------------

def week_of(day: date) -> date:
    """The Monday of the week of `day`."""
    return day - timedelta(days=day.weekday())


def new_token() -> str:
    return secrets.token_urlsafe(24)


def create_committee(
    session: Session, territory_slug: str, day: date, user_id: int | None, *, today: date | None = None
) -> Committee:
    """A committee on `day` for a territory (geo_territory slug); its agenda is
    fixed at D-3 and sent at D-2. Refuses an unknown territory and a past date."""
    errors: dict[str, list[str]] = {}
    if not territory_slug or not session.scalar(
        text("SELECT 1 FROM geo_territory WHERE slug = :s"), {"s": territory_slug}
    ):
        errors["territoire"] = ["choisissez un territoire de la liste"]
    if today is not None and day < today:
        errors["date"] = [f"la date du comité ({day:%d/%m/%Y}) est passée"]
    if errors:
        raise ValidationError(errors)
    committee = Committee(
        territory_slug=territory_slug,
        date=day,
        agenda_deadline=day - timedelta(days=AGENDA_DEADLINE_DAYS),
        sending_date=day - timedelta(days=SENDING_DAYS),
        created_by_id=user_id,
    )
    session.add(committee)
    session.flush()
    return committee


def check_reference(reference: str) -> str:
    """The reference, stripped, or ValidationError: a file number with at least one
    digit (« CTO-2026-014 »), so that a name is refused."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": ["la référence interne est obligatoire"]})
    if not _REFERENCE.match(reference) or not any(ch.isdigit() for ch in reference):
        raise ValidationError(
            {
                "reference": [
                    "une référence interne est un numéro de dossier (lettres, chiffres, tirets, "
                    "au moins un chiffre, 40 caractères au plus), jamais le nom de la personne"
                ]
            }
        )
    return reference


def add_situation(
    session: Session,
    committee: Committee,
    reference: str,
    shortlist_id: int | None,
    user_id: int | None,
    *,
    today: date | None = None,
) -> Situation:
    """Adds a situation to the committee's agenda. Refuses the 11th (the committee
    row is locked, so two referents cannot both add the 10th), a reference already
    on the agenda, and, when `today` is given, any addition after the agenda
    deadline (D-3)."""
    reference = check_reference(reference)
    if today is not None and today > committee.agenda_deadline:
        raise ValidationError(
            {"situation": [f"l'ordre du jour est arrêté depuis le {committee.agenda_deadline:%d/%m/%Y} (J-3)"]}
        )
    session.execute(select(Committee.id).where(Committee.id == committee.id).with_for_update())
    count = session.scalar(select(func.count()).select_from(Situation).where(Situation.committee_id == committee.id))
    if count >= MAX_SITUATIONS:
        raise ValidationError({"situation": [TOO_MANY_SITUATIONS]})
    taken = session.scalar(
        select(Situation.id).where(Situation.committee_id == committee.id, Situation.reference == reference)
    )
    if taken:
        raise ValidationError({"reference": [f"la référence « {reference} » est déjà à l'ordre du jour"]})
    situation = Situation(
        committee_id=committee.id, reference=reference, shortlist_id=shortlist_id, created_by_id=user_id
    )
    session.add(situation)
    session.flush()
    session.refresh(committee, ["situations"])
    return situation


def purge(session: Session, retention_days: int, now: datetime) -> tuple[int, int]:
    """Deletes search log rows older than the retention and expired shortlists.
    Returns (log rows, shortlists) deleted."""
    cutoff = week_of((now - timedelta(days=retention_days)).date())
    logs = session.execute(delete(SearchLog).where(SearchLog.week < cutoff)).rowcount
    lists = session.execute(delete(Shortlist).where(Shortlist.expires_at <= now)).rowcount
    return logs, lists


def check_days(raw: str | int | None) -> int:
    """Days a shortlist is kept: 1 to MAX_SHORTLIST_DAYS (default 30)."""
    if raw is None or str(raw).strip() == "":
        return DEFAULT_SHORTLIST_DAYS
    raw = str(raw).strip()
    days = parse_int(raw)
    if days is None or not 1 <= days <= MAX_SHORTLIST_DAYS:
        raise ValidationError(
            {"duree": [f"un nombre de jours entre 1 et {MAX_SHORTLIST_DAYS}, reçu « {raw} »"]}
        )
    return days


def save_shortlist(
    session: Session,
    *,
    code_commune: str,
    publics: list[str],
    barriers: list[str],
    constraints: dict,
    remarks: str | None,
    results: dict[str, list[str]],
    days: int,
    user_id: int | None,
    now: datetime,
) -> Shortlist:
    """Stores a shortlist with a secret token (the share link) and its expiry."""
    remarks = (remarks or "").strip() or None
    if remarks and len(remarks) > MAX_REMARKS:
        raise ValidationError({"remarques": [f"{MAX_REMARKS} caractères au plus ({len(remarks)} reçus)"]})
    shortlist = Shortlist(
        token=new_token(),
        code_commune=code_commune,
        publics=list(publics),
        barriers=list(barriers),
        constraints=dict(constraints),
        remarks=remarks,
        results={k: [str(i) for i in v] for k, v in results.items()},
        annotations={},
        created_by_id=user_id,
        expires_at=now + timedelta(days=days),
    )
    session.add(shortlist)
    session.flush()
    return shortlist


def annotate(shortlist: Shortlist, service_id: str, note: str) -> None:
    """Sets (or, when empty, removes) the referent's note on one offer of the list."""
    kept = {i for ids in shortlist.results.values() for i in ids}
    if service_id not in kept:
        raise ValidationError({"offre": ["cette offre n'est pas dans la liste"]})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": [f"{MAX_NOTE} caractères au plus ({len(note)} reçus)"]})
    annotations = dict(shortlist.annotations or {})
    if note:
        annotations[service_id] = note
    else:
        annotations.pop(service_id, None)
    shortlist.annotations = annotations


def live_shortlist(session: Session, token: str, now: datetime) -> Shortlist | None:
    """The shortlist of a share token, unless it has expired (the purge job may
    not have run yet)."""
    if not token or not _TOKEN.match(token):
        return None
    return session.scalar(select(Shortlist).where(Shortlist.token == token, Shortlist.expires_at > now))


def share(shortlist: Shortlist) -> str:
    """The owner shares the list: a share token of its own (not the owner's link)."""
    if not shortlist.share_token:
        shortlist.share_token = new_token()
    return shortlist.share_token


def unshare(shortlist: Shortlist) -> None:
    """The owner stops sharing: the share link opens nothing any more."""
    shortlist.share_token = None


def shared_shortlist(session: Session, share_token: str, now: datetime) -> Shortlist | None:
    """The shortlist its owner shares with this token, unless expired."""
    if not share_token or not _TOKEN.match(share_token):
        return None
    return session.scalar(
        select(Shortlist).where(Shortlist.share_token == share_token, Shortlist.expires_at > now)
    )


# --- CTO memberships ----------------------------------------------------------------

def grant(
    session: Session, user_id: int, *, territory_slug: str | None = None, committee: Committee | None = None,
    granted_by_id: int | None = None,
) -> CtoMembership:
    """Gives a person the CTO for a territory or for one committee (exactly one of
    them). Who may grant is catalogue.permissions.can_grant_cto's question, asked
    by the caller. Refuses an unknown territory and a right already given."""
    if (territory_slug is None) == (committee is None):
        raise ValidationError({"perimetre": ["choisissez un territoire ou un comité (l'un des deux)"]})
    if territory_slug is not None:
        if not session.scalar(text("SELECT 1 FROM geo_territory WHERE slug = :s"), {"s": territory_slug}):
            raise ValidationError({"territoire": ["choisissez un territoire de la liste"]})
        exists = select(CtoMembership.id).where(CtoMembership.user_id == user_id,
                                                CtoMembership.territory_slug == territory_slug)
    else:
        exists = select(CtoMembership.id).where(CtoMembership.user_id == user_id,
                                                CtoMembership.committee_id == committee.id)
    if session.scalar(exists) is not None:
        raise ValidationError({"perimetre": ["cette personne a déjà cet accès"]})
    membership = CtoMembership(
        user_id=user_id, territory_slug=territory_slug, committee_id=committee.id if committee else None,
        granted_by_id=granted_by_id,
    )
    session.add(membership)
    session.flush()
    return membership


def memberships_of(session: Session, user_id: int) -> list[CtoMembership]:
    return list(session.scalars(
        select(CtoMembership).where(CtoMembership.user_id == user_id).order_by(CtoMembership.created_at)
    ))


# --- unmet demand ------------------------------------------------------------------

_UNMET_SQL = text(
    """
    WITH map(c, g) AS (SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:groups AS text[]))),
    rows AS (
        SELECT l.id, l.week, l.code_commune, l.result_count, x.g,
               (l.filters->>'reponses_proximite') = '0' AS no_nearby
        FROM search_log l
        LEFT JOIN LATERAL (
            SELECT DISTINCT map.g FROM unnest(l.thematiques) t JOIN map ON map.c = split_part(t, '--', 1)
        ) x ON true
        WHERE l.week >= :since
    )
    SELECT r.week, r.g AS groupe, r.code_commune, gc.nom AS commune,
           count(*) AS searches,
           count(*) FILTER (WHERE r.result_count = 0) AS zero,
           count(*) FILTER (WHERE r.result_count BETWEEN 1 AND :low) AS low,
           count(*) FILTER (WHERE r.no_nearby) AS no_nearby
    FROM rows r LEFT JOIN geo_commune gc ON gc.code = r.code_commune
    GROUP BY r.week, r.g, r.code_commune, gc.nom
    HAVING count(*) FILTER (WHERE r.result_count <= :low OR r.no_nearby) > 0 OR :all_rows
    ORDER BY r.week DESC, zero DESC, low DESC, r.g NULLS LAST, gc.nom NULLS LAST
    LIMIT :limit
    """
)


def _group_map() -> tuple[list[str], list[str]]:
    keys, groups = [], []
    for g in vocabulary.spie_groups():
        keys.append(g.code)
        groups.append(g.code)
        for c in g.categories:
            keys.append(c)
            groups.append(g.code)
    return keys, groups


def unmet_demand(
    session: Session, since: date, *, low: int = LOW_RESULTS, limit: int = 2000, all_rows: bool = False
) -> list[dict]:
    """Searches by week x SPIE thematic x commune since the week of `since`, with
    how many had no result, how few (1 to `low`), and how many lever searches
    of the CTO found no on-site answer within the person's reach (`no_nearby`,
    « aucune réponse de proximité »: catalogue.levers). Only the rows with zero-,
    low-result or no-nearby searches unless `all_rows`. A search asking for two
    thematics counts in each."""
    keys, groups = _group_map()
    rows = session.execute(
        _UNMET_SQL,
        {"keys": keys, "groups": groups, "since": week_of(since), "low": low, "limit": limit, "all_rows": all_rows},
    ).all()
    return [dict(r._mapping) for r in rows]


def weekly_totals(session: Session, since: date, *, low: int = LOW_RESULTS) -> list[dict]:
    """Per week since the week of `since` (oldest first): searches, zero-result and
    low-result ones."""
    rows = session.execute(
        text(
            """
            SELECT week, count(*) AS searches,
                   count(*) FILTER (WHERE result_count = 0) AS zero,
                   count(*) FILTER (WHERE result_count BETWEEN 1 AND :low) AS low
            FROM search_log WHERE week >= :since GROUP BY week ORDER BY week
            """
        ),
        {"since": week_of(since), "low": low},
    ).all()
    return [dict(r._mapping) for r in rows]


def top_unmet(session: Session, since: date, *, low: int = LOW_RESULTS, limit: int = 10) -> list[dict]:
    """The thematic x commune pairs with the most zero-result searches (then
    low-result ones) since `since`, summed over the weeks."""
    totals: dict[tuple, dict] = {}
    for r in unmet_demand(session, since, low=low, limit=100_000):
        key = (r["groupe"], r["code_commune"])
        t = totals.setdefault(
            key, {"groupe": r["groupe"], "code_commune": r["code_commune"], "commune": r["commune"],
                  "searches": 0, "zero": 0, "low": 0, "no_nearby": 0}
        )
        for k in ("searches", "zero", "low", "no_nearby"):
            t[k] += r[k]
    ranked = sorted(totals.values(),
                    key=lambda t: (-t["zero"], -t["no_nearby"], -t["low"], -t["searches"], str(t["commune"])))
    return ranked[:limit]


def write_search_log(session, rows: list[dict]) -> None:
    """The anonymous search log's rows (web/cto/searchlog.row_of), in one insert."""
    session.execute(insert(SearchLog), rows)
