"""Account credentials: password hashing (argon2), the rules of an e-mail address
and of a password, and the fingerprint of a password hash that a reset link
carries (it works once: a new password changes the hash). The web side
(web/auth/) asks and answers; the rules live here."""

from __future__ import annotations

import hashlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from catalogue.accounts import User

PASSWORD_MIN = 12
PASSWORD_MAX = 200
EMAIL_MAX = 254
NOM_MAX = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = hasher.hash("compte-inexistant")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when `password` matches; re-hashes an outdated hash on success."""
    stored = user.password_hash if user is not None else None
    try:
        hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    return True


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


def email_error(email: str) -> str | None:
    if not email:
        return "Adresse électronique : ce champ est obligatoire."
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        return "Adresse électronique : adresse invalide (exemple : prenom.nom@domaine.fr)."
    return None


def password_errors(password: str, confirmation: str) -> dict[str, str]:
    errors = {}
    if len(password) < PASSWORD_MIN:
        errors["password"] = f"Mot de passe : {PASSWORD_MIN} caractères au moins."
    elif len(password) > PASSWORD_MAX:
        errors["password"] = f"Mot de passe : {PASSWORD_MAX} caractères au plus."
    elif password != confirmation:
        errors["password_confirm"] = "Confirmation du mot de passe : les deux saisies diffèrent."
    return errors


def password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "sans-mot-de-passe").encode()).hexdigest()[:20]
