"""offre user create: bootstrap the first administrator and moderators."""

from __future__ import annotations

from sqlalchemy import select

from catalogue.accounts import ModeratorScope, User
from tests.auth_helpers import login
from web.commands.accounts import user_group

PASSWORD = "phrase de passe de l'administrateur"


def test_create_admin_then_login(app, client, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        user_group,
        ["create", "Admin@Aisne.fr", "--admin", "--moderateur-departement", "02", "--nom", "Ada Admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Compte créé : admin@aisne.fr — administrateur, modérateur du département 02." in result.output
    user = db.scalar(select(User).where(User.email == "admin@aisne.fr"))
    assert user.is_admin and user.email_verified_at is not None and user.nom == "Ada Admin"
    assert [s.departement_code for s in db.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id))] == ["02"]
    assert login(client, "admin@aisne.fr", PASSWORD).status_code == 302
    assert "administrateur du service" in client.get("/espace").get_data(as_text=True)


def test_existing_account_gets_the_rights_only(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(user_group, ["create", "m@aisne.fr", "--sans-mot-de-passe"]).exit_code == 0
    user = db.scalar(select(User).where(User.email == "m@aisne.fr"))
    assert user.password_hash is None and not user.is_admin
    again = runner.invoke(user_group, ["create", "m@aisne.fr", "--moderateur-departement", "02"])
    assert again.exit_code == 0
    assert "Compte existant" in again.output
    twice = runner.invoke(user_group, ["create", "m@aisne.fr", "--moderateur-departement", "02"])
    assert twice.exit_code == 0
    assert len(db.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id)).all()) == 1


def test_bad_input_is_explained(app, db):
    runner = app.test_cli_runner()
    bad_email = runner.invoke(user_group, ["create", "pas-une-adresse", "--sans-mot-de-passe"])
    assert bad_email.exit_code != 0 and "adresse invalide" in bad_email.output
    bad_dep = runner.invoke(user_group, ["create", "x@aisne.fr", "--moderateur-departement", "999", "--sans-mot-de-passe"])
    assert bad_dep.exit_code != 0 and "département inconnu : 999" in bad_dep.output
    short = runner.invoke(user_group, ["create", "y@aisne.fr"], input="court\ncourt\n")
    assert short.exit_code != 0 and "12 caractères au moins" in short.output
    assert db.scalar(select(User)) is None
