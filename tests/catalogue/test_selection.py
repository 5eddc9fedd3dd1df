"""catalogue.selection: the list of ids (add, remove, move, read from a cookie) and
short links (create, find, delete by the owner only, purge of the expired)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalogue import selection as sel
from catalogue.models import Status


def test_from_cookie_keeps_valid_unique_ids_up_to_the_cap():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert sel.from_cookie([str(a), "x", str(a), 3, str(b)], 30) == [a, b]
    assert sel.from_cookie([str(a), str(b)], 1) == [a]
    assert sel.from_cookie("pas une liste", 30) == [] and sel.from_cookie(None, 30) == []


def test_move_at_the_ends_changes_nothing():
    a, b, c = (uuid.uuid4() for _ in range(3))
    assert sel.move([a, b, c], a, "haut") == [a, b, c]
    assert sel.move([a, b, c], c, "bas") == [a, b, c]
    assert sel.move([a, b, c], b, "haut") == [b, a, c]
    with pytest.raises(sel.SelectionError) as exc:
        sel.move([a], a, "gauche")
    assert exc.value.field == "sens"


def test_add_refuses_a_hidden_offer_and_a_full_selection(db, factories):
    public = factories.ServiceFactory()
    hidden_structure = factories.StructureFactory(status=Status.ARCHIVE)
    hidden = factories.ServiceFactory(structure=hidden_structure)
    assert sel.add(db, [], public.id, 2) == [public.id]
    assert sel.add(db, [public.id], public.id, 1) == [public.id]  # already in: no error
    with pytest.raises(sel.SelectionError, match="n'est pas une offre publiée"):
        sel.add(db, [], hidden.id, 2)
    with pytest.raises(sel.SelectionError, match="2 offres au plus"):
        sel.add(db, [uuid.uuid4(), uuid.uuid4()], public.id, 2)
    assert [e.available for e in sel.entries(db, [hidden.id, public.id])] == [False, True]


def test_links_owner_and_purge(db, factories):
    service = factories.ServiceFactory()
    now = datetime.now(UTC)
    link, secret = sel.create_link(db, [service.id], days=30, now=now, max_offers=30)
    assert len(link.token) == sel.TOKEN_LENGTH and secret not in (link.owner_hash, link.token)
    assert sel.find_link(db, link.token) is link
    assert not sel.delete_link(db, link, "un-autre-secret-de-vingt-car")
    assert not sel.delete_link(db, link, None)
    assert sel.delete_link(db, link, secret)
    assert sel.find_link(db, link.token) is None
    old, _ = sel.create_link(db, [service.id], days=1, now=now - timedelta(days=5), max_offers=30)
    sel.create_link(db, [service.id], days=1, now=now, max_offers=30)  # purges on the way
    assert sel.find_link(db, old.token) is None
    with pytest.raises(sel.SelectionError) as exc:
        sel.find_link(db, "../../etc")
    assert exc.value.field == "lien"
    with pytest.raises(sel.SelectionError, match="vide"):
        sel.create_link(db, [], days=30, now=now, max_offers=30)
