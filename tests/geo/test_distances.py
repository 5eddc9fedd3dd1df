"""Distances in metres on the geography; areas, buffers, simplification in Lambert-93."""

import math

import pytest
from shapely import wkb
from shapely.geometry import Point
from sqlalchemy import text

from geo import distances as d

LAON = (3.6244, 49.5641)
SOISSONS = (3.3236, 49.3817)


def test_distance_in_metres_agrees_with_postgis_geography(db):
    python = d.distance_m(LAON, SOISSONS)
    postgis = d.distance_m_db(db, LAON, SOISSONS)
    assert 29_000 < python < 31_000
    assert postgis == pytest.approx(python, rel=1e-3)
    assert d.distance_m(LAON, LAON) == 0


def test_lambert93_round_trip_and_metres():
    lambert = d.to_lambert93(Point(*LAON))
    # Lambert-93 coordinates of Laon: about x = 740 km, y = 6,940 km.
    assert 700_000 < lambert.x < 780_000 and 6_900_000 < lambert.y < 6_980_000
    back = d.from_lambert93(lambert)
    assert back.x == pytest.approx(LAON[0], abs=1e-9) and back.y == pytest.approx(LAON[1], abs=1e-9)


def test_buffer_and_area_in_metres():
    disc = d.buffer_m(Point(*LAON), 1_000)
    assert d.area_m2(disc) == pytest.approx(math.pi * 1_000**2, rel=0.01)
    assert disc.contains(Point(*LAON))


def test_area_of_a_commune_agrees_with_the_geography(db):
    raw, geography_m2 = db.execute(text(
        "SELECT ST_AsBinary(contour), ST_Area(contour::geography) FROM geo_commune WHERE code = '02408'"
    )).one()
    assert d.area_m2(wkb.loads(bytes(raw))) == pytest.approx(geography_m2, rel=0.005)


def test_simplify_with_a_tolerance_in_metres(db):
    raw = db.scalar(text("SELECT ST_AsBinary(contour) FROM geo_commune WHERE code = '02408'"))
    laon = wkb.loads(bytes(raw))
    coarse = d.simplify_m(laon, 500)
    assert coarse.is_valid and len(coarse.geoms[0].exterior.coords) < len(laon.geoms[0].exterior.coords)
    assert d.to_lambert93(coarse).hausdorff_distance(d.to_lambert93(laon)) <= 500 * 1.01
