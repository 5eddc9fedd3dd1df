"""Addresses -> points. Offline by default (the commune's centre, marked
approximate); the BAN client is used only when a geocoder URL is configured.

    geocoder = make_geocoder(session, url)   # url "" -> offline
    geocoder.locate("2 rue de la Paix", "02168")

The BAN (Base Adresse Nationale) answers `GET <url>/search/?q=…&citycode=…&limit=1`
with a GeoJSON FeatureCollection whose features carry a `score` (0..1). Below
`min_score`, or when the BAN does not answer, the offline geocoder answers
instead: a geocoding failure never stops an import."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import requests
from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Below this BAN score the address is not trusted (a street matched without its
# number, a homonym…): the commune's centre is used, marked approximate.
DEFAULT_MIN_SCORE = 0.5
DEFAULT_TIMEOUT_S = 5.0
ADDRESS = "adresse"
COMMUNE = "commune"


@dataclass(frozen=True)
class GeocodeResult:
    lon: float
    lat: float
    score: float  # 0..1; 1 for an exact match, 0 for a commune centre
    precision: str  # "adresse" (geocoded address) or "commune" (commune centre)

    @property
    def approximate(self) -> bool:
        return self.precision != ADDRESS


class Geocoder(Protocol):
    def locate(self, address: str | None, citycode: str | None) -> GeocodeResult | None:
        """The best point for the address in the commune `citycode` (INSEE), or None."""
        ...


class CommuneCentreGeocoder:
    """Offline: the centre of the commune (inside its boundary), approximate.
    An arrondissement or a former commune without a centre falls back to its commune."""

    def __init__(self, session: Session):
        self.session = session

    def locate(self, address: str | None, citycode: str | None) -> GeocodeResult | None:
        if not citycode:
            return None
        row = self.session.execute(
            text(
                """
                SELECT ST_X(coalesce(c.centre, p.centre)::geometry) AS lon,
                       ST_Y(coalesce(c.centre, p.centre)::geometry) AS lat
                FROM geo_commune c LEFT JOIN geo_commune p ON p.code = c.parent_code
                WHERE c.code = :code
                """
            ),
            {"code": citycode.strip().upper()},
        ).first()
        if row is None or row.lon is None:
            return None
        return GeocodeResult(lon=row.lon, lat=row.lat, score=0.0, precision=COMMUNE)


class _Unavailable(Exception):
    pass


class BanGeocoder:
    """The BAN API (api-adresse.data.gouv.fr or the Géoplateforme), with a fallback
    geocoder for low scores and failures. Answers are cached per (address, citycode)."""

    def __init__(
        self,
        url: str,
        fallback: Geocoder | None = None,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        timeout: float = DEFAULT_TIMEOUT_S,
        http: requests.Session | None = None,
        cache_size: int = 10_000,
    ):
        base = url.rstrip("/")
        self.search_url = base + "/" if base.endswith("/search") else base + "/search/"
        self.fallback = fallback
        self.min_score = min_score
        self.timeout = timeout
        self.http = http or requests.Session()
        self._cache: OrderedDict[tuple[str, str | None], GeocodeResult | None] = OrderedDict()
        self._cache_size = cache_size

    def _ask(self, address: str, citycode: str | None) -> GeocodeResult | None:
        params = {"q": address, "limit": 1}
        if citycode:
            params["citycode"] = citycode
        try:
            response = self.http.get(self.search_url, params=params, timeout=self.timeout)
            response.raise_for_status()
            features = response.json().get("features") or []
        except (requests.RequestException, ValueError) as exc:
            log.warning("géocodeur BAN indisponible (%s) : centre de la commune", exc)
            raise _Unavailable from exc
        if not features:
            return None
        feature = features[0]
        try:
            lon, lat = (float(v) for v in feature["geometry"]["coordinates"][:2])
            score = float(feature.get("properties", {}).get("score", 0))
        except (KeyError, TypeError, ValueError):
            return None
        if score < self.min_score:
            return None
        return GeocodeResult(lon=lon, lat=lat, score=score, precision=ADDRESS)

    def locate(self, address: str | None, citycode: str | None) -> GeocodeResult | None:
        address = (address or "").strip()
        citycode = (citycode or "").strip().upper() or None
        found = None
        if len(address) >= 3:
            key = (address, citycode)
            if key in self._cache:
                self._cache.move_to_end(key)
                found = self._cache[key]
            else:
                try:
                    found = self._ask(address, citycode)
                except _Unavailable:  # not cached: the next address asks again
                    found = None
                else:
                    self._cache[key] = found
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        if found is None and self.fallback is not None:
            return self.fallback.locate(address, citycode)
        return found


def make_geocoder(session: Session | None, url: str | None = None, **options) -> Geocoder | None:
    """The BAN client when `url` is set (setting GEOCODER_URL), falling back to the
    commune centre; else the offline commune-centre geocoder. Without a session
    there is no offline geocoder: the BAN alone (None below its threshold), or None
    when no URL is set (the caller then uses the commune centre itself)."""
    offline = CommuneCentreGeocoder(session) if session is not None else None
    if not url:
        return offline
    return BanGeocoder(url, fallback=offline, **options)
