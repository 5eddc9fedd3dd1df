from sqlalchemy import func, select

from catalogue import demo, queries, vocabulary
from catalogue.models import Service, Structure


def test_demo_catalogue_is_deterministic_and_covers_every_spie_thematic(db):
    first = demo.load(db, n_structures=60, n_services=300, seed=7)
    assert first["created"] == 360
    names = db.scalars(select(Service.nom).where(Service.source == "demo").order_by(Service.source_id)).all()
    again = demo.load(db, n_structures=60, n_services=300, seed=7)
    assert again == {**first, "created": 0, "updated": 0}
    assert db.scalars(select(Service.nom).where(Service.source == "demo").order_by(Service.source_id)).all() == names
    counts = dict((g.code, n) for g, n in queries.counts_by_spie_group(db))
    assert set(counts) == {g.code for g in vocabulary.spie_groups()}
    assert all(n > 0 for n in counts.values())
    # Zones of every kind, remote and on-site offers, and demo labels.
    zones = db.scalars(select(Service.zone_eligibilite).where(Service.source == "demo")).all()
    kinds = {("vide" if not z else "france" if z == ["france"] else len(z[0])) for z in zones}
    assert {"vide", "france", 2, 5, 9} <= kinds
    modes = {tuple(m) for m in db.scalars(select(Service.modes_accueil))}
    assert ("a-distance",) in modes and ("en-presentiel",) in modes
    assert db.scalar(select(func.count()).select_from(Structure).where(Structure.source == "demo")) == 60
    assert all("démonstration" in d for d in db.scalars(select(Service.description).where(Service.source == "demo")))
