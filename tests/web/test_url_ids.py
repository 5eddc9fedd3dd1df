"""Ids in URLs beyond PostgreSQL's integer range are unknown pages (404) on every
route, never a database error (500)."""

from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter, UUIDConverter

from tests.auth_helpers import login, make_user

HUGE = 10**12


def test_huge_ids_are_404_on_every_route(app, client, db, factories):
    structure = factories.StructureFactory()
    make_user(db, email="admin@example.org", is_admin=True)
    assert login(client, "admin@example.org", "mot-de-passe-de-test-42").status_code == 302
    checked = 0
    for rule in app.url_map.iter_rules():
        if not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            continue
        url = rule.rule
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                value = str(HUGE)
            elif isinstance(converter, UUIDConverter):
                value = str(structure.id)
            else:
                value = "x"
            url = re.sub(rf"<(?:[^:>]+:)?{name}>", value, url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={})
            assert response.status_code in (400, 404, 405), f"{method} {url} -> {response.status_code}"
            checked += 1
    assert checked > 5
