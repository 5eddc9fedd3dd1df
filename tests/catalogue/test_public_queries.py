"""The results page's reads (catalogue.public_queries): the services of a page in
one query, their places read from the loaded rows as the database gives them."""

from __future__ import annotations

import uuid

from catalogue import public_queries as pq


def test_services_in_order_with_their_structures_and_their_places(db, factories):
    placed = factories.ServiceFactory(location="SRID=4326;POINT(3.6244123456789 49.5641987654321)")
    remote = factories.ServiceFactory(location=None)
    db.expire_all()
    ids = [remote.id, uuid.uuid4(), placed.id]  # an unknown id is left out
    found = pq.services_in_order(db, ids)
    assert [s.id for s in found] == [remote.id, placed.id]
    assert found[1].structure.nom == placed.structure.nom
    assert pq.places_of(found) == pq.points_of(db, ids) == {placed.id: (3.6244123456789, 49.5641987654321)}
    assert pq.services_in_order(db, []) == [] and pq.places_of([]) == {}
