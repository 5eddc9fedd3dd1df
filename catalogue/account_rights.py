"""The accounts made and the rights given from the command line (`offre user
create`, web/commands/accounts.py): an account confirmed at once, administrator or
moderator of départements and territories; rights already held are kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from catalogue.accounts import ModeratorScope, User
from geo import lookup, territories


def unknown_scope(db: Session, departements, territoires) -> tuple[str, str] | None:
    """(option, French message) of the first département or territory that does not exist."""
    for code in departements:
        if lookup.departement_name(db, code) is None:
            return "--moderateur-departement", f"département inconnu : {code}"
    for slug in territoires:
        if territories.territory_name(db, slug) is None:
            return "--moderateur-territoire", f"territoire inconnu : {slug}"
    return None


def create_account(db: Session, email: str, nom: str | None, password_hash: str | None) -> User:
    user = User(email=email, nom=nom, password_hash=password_hash, email_verified_at=datetime.now(UTC))
    db.add(user)
    db.flush()
    return user


def grant(db: Session, user: User, *, admin: bool, departements, territoires) -> None:
    """The rights asked for, added to those the account holds."""
    if admin:
        user.is_admin = True
    existing = {(s.departement_code, s.territory_slug) for s in user.moderator_scopes}
    for code in departements:
        if (code, None) not in existing:
            db.add(ModeratorScope(user_id=user.id, departement_code=code))
    for slug in territoires:
        if (None, slug) not in existing:
            db.add(ModeratorScope(user_id=user.id, territory_slug=slug))


def rights_words(admin: bool, departements, territoires) -> list[str]:
    rights = ["administrateur"] if admin else []
    rights += [f"modérateur du département {c}" for c in departements]
    rights += [f"modérateur du territoire {s}" for s in territoires]
    return rights
