"""Distances, areas, buffers and simplification, in metres.

Distances are measured on the spheroid (PostGIS `geography`, or pyproj's Geod
with the same WGS 84 ellipsoid outside the database). Whatever needs a plane —
areas, buffers, a simplification tolerance — is computed in Lambert-93
(EPSG:2154) through pyproj, then brought back to EPSG:4326. Coordinates are
(lon, lat) everywhere."""

from __future__ import annotations

from functools import lru_cache

import numpy
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

WGS84 = 4326
LAMBERT93 = 2154
_GEOD = Geod(ellps="WGS84")


@lru_cache(maxsize=4)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_lambert93(geom: BaseGeometry) -> BaseGeometry:
    """A geometry in EPSG:4326 (lon, lat) as Lambert-93 metres."""
    return shapely.transform(geom, _reproject(WGS84, LAMBERT93))


def from_lambert93(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, _reproject(LAMBERT93, WGS84))


def _reproject(source: int, target: int):
    transformer = _transformer(source, target)

    def apply(coords):
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return numpy.column_stack([x, y])

    return apply


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two (lon, lat) points (WGS 84)."""
    _, _, metres = _GEOD.inv(a[0], a[1], b[0], b[1])
    return float(metres)


def distance_m_db(session: Session, a: tuple[float, float], b: tuple[float, float]) -> float:
    """The same distance as PostGIS measures it on `geography` (what search uses)."""
    return float(
        session.scalar(
            text(
                "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(:ax, :ay), 4326)::geography, "
                "ST_SetSRID(ST_MakePoint(:bx, :by), 4326)::geography)"
            ),
            {"ax": a[0], "ay": a[1], "bx": b[0], "by": b[1]},
        )
    )


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres (Lambert-93) of a geometry in EPSG:4326."""
    return float(to_lambert93(geom).area)


def buffer_m(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """The geometry grown by `metres` (Lambert-93), back in EPSG:4326."""
    return from_lambert93(to_lambert93(geom).buffer(metres))


def simplify_m(geom: BaseGeometry, tolerance_m: float) -> BaseGeometry:
    """The geometry simplified with a tolerance in metres (Lambert-93), topology
    kept (no self-intersection), back in EPSG:4326. A MultiPolygon stays one."""
    simplified = from_lambert93(to_lambert93(geom).simplify(tolerance_m, preserve_topology=True))
    if isinstance(geom, MultiPolygon) and isinstance(simplified, Polygon):
        simplified = MultiPolygon([simplified])
    return simplified
