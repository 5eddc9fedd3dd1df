"""Audit of every change, and no hard delete on any path."""

from sqlalchemy import delete, text

from catalogue import writes
from catalogue.db import set_actor
from catalogue.models import Service, Status, Structure


def test_edit_is_audited_with_actor_before_and_after(db, factories):
    service = factories.ServiceFactory(nom="Ancien nom")
    set_actor(db, "user:42")
    writes.update_service(db, service, {"nom": "Nouveau nom", "frais": "payant"})
    rows = writes.history(db, service)
    assert [r.action for r in rows] == ["insert", "update"]
    last = rows[-1]
    assert last.actor == "user:42"
    assert last.before == {"nom": "Ancien nom", "frais": "gratuit"}
    assert last.after == {"nom": "Nouveau nom", "frais": "payant"}


def test_an_update_that_changes_nothing_leaves_no_audit_row(db, factories):
    service = factories.ServiceFactory()
    db.execute(text("UPDATE service SET nom = nom WHERE id = :id"), {"id": service.id})
    assert len(writes.history(db, service)) == 1


def test_archive_keeps_the_record(db, factories):
    service = factories.ServiceFactory()
    writes.archive(db, service)
    db.expire_all()
    assert db.get(Service, service.id).status == Status.ARCHIVE
    writes.restore(db, service)
    assert db.get(Service, service.id).status == Status.PUBLIE


def test_sql_delete_of_a_service_archives_it(db, factories):
    service = factories.ServiceFactory()
    db.execute(delete(Service).where(Service.id == service.id))
    db.expire_all()
    kept = db.get(Service, service.id)
    assert kept is not None and kept.status == Status.ARCHIVE


def test_sql_delete_of_a_structure_archives_it(db, factories):
    structure = factories.StructureFactory()
    db.execute(text("DELETE FROM structure WHERE id = :id"), {"id": structure.id})
    db.expire_all()
    assert db.get(Structure, structure.id).status == Status.ARCHIVE


def test_orm_delete_archives(db, factories):
    import warnings

    service = factories.ServiceFactory()
    db.delete(service)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy notes that 0 rows were deleted
        db.flush()
    db.expunge_all()
    assert db.get(Service, service.id).status == Status.ARCHIVE


def _outbox(db, service_id):
    return db.execute(
        text("SELECT id FROM search_outbox WHERE service_id = :id"), {"id": service_id}
    ).scalars().all()


def test_every_change_lands_in_the_search_outbox_once_per_service(db, factories):
    # Only while an external engine is fed (search.sync.switch_to turns it on).
    db.execute(text("UPDATE search_engine_state SET engine = 'meilisearch', outbox_enabled = true"))
    service = factories.ServiceFactory()
    db.flush()
    [first] = _outbox(db, service.id)
    writes.update_service(db, service, {"nom": "Renommé"})
    # Still one row for the service, moved behind the later changes (a new id).
    [second] = _outbox(db, service.id)
    assert second > first
    # A change of the structure reaches its services too (its name is indexed with them).
    db.execute(
        text("UPDATE structure SET nom = 'Autre' WHERE id = :id"), {"id": service.structure_id}
    )
    [third] = _outbox(db, service.id)
    assert third > second


def test_nothing_lands_in_the_outbox_with_the_postgresql_engine(db, factories):
    service = factories.ServiceFactory()
    writes.update_service(db, service, {"nom": "Renommé"})
    db.execute(
        text("UPDATE structure SET nom = 'Autre' WHERE id = :id"), {"id": service.structure_id}
    )
    assert _outbox(db, service.id) == []
