"""The grid cells of a radius (search.postgres.grid_cells) hold every place within it,
as the search table writes the cell of a place (migration 0010)."""

from __future__ import annotations

import math
import random

from sqlalchemy import text

from search.postgres import EARTH_RADIUS_M, GRID_DEGREES, grid_cells


def _destination(lon: float, lat: float, bearing: float, distance_m: float) -> tuple[float, float]:
    d = distance_m / EARTH_RADIUS_M
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    phi2 = math.asin(math.sin(phi) * math.cos(d) + math.cos(phi) * math.sin(d) * math.cos(theta))
    lam2 = lam + math.atan2(math.sin(theta) * math.sin(d) * math.cos(phi), math.cos(d) - math.sin(phi) * math.sin(phi2))
    return math.degrees(lam2), math.degrees(phi2)


def _cell(lon: float, lat: float) -> str:
    return f"g:{math.floor(lat / GRID_DEGREES)}:{math.floor(lon / GRID_DEGREES)}"


def test_every_place_within_the_radius_is_in_one_of_its_cells():
    rng = random.Random(2026)
    centres = [(3.62, 49.56), (2.35, 48.86), (-1.68, 48.11), (9.45, 42.7), (-61.53, 16.24), (55.45, -21.0)]
    for lon, lat in centres:
        for radius_km in (1, 10, 50, 200):
            cells = set(grid_cells(lon, lat, radius_km * 1000))
            for _ in range(300):
                place = _destination(lon, lat, rng.uniform(0, 360), radius_km * 1000 * math.sqrt(rng.random()))
                assert _cell(*place) in cells, (lon, lat, radius_km, place)


def test_a_radius_of_50_km_takes_a_few_dozen_cells():
    assert 20 <= len(grid_cells(3.62, 49.56, 50_000)) <= 40


def test_the_database_writes_the_same_cell(factories, db):
    s = factories.ServiceFactory(modes_accueil=["en-presentiel"])
    db.flush()
    lon, lat = db.execute(text("SELECT ST_X(location::geometry), ST_Y(location::geometry) FROM service WHERE id = :i"),
                          {"i": s.id}).one()
    zone = db.scalar(text("SELECT zone FROM search_document WHERE service_id = :i"), {"i": s.id})
    assert _cell(lon, lat) in zone
