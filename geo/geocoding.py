"""Addresses -> points. Offline by default (the commune's centre, marked
approximate); the BAN client is used only when a geocoder URL is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GeocodeResult:
    lon: float
    lat: float
    score: float  # 0..1; 1 for an exact match
    precision: str  # "adresse" (geocoded address) or "commune" (commune centre)


class Geocoder(Protocol):
    def locate(self, address: str | None, citycode: str | None) -> GeocodeResult | None:
        """The best point for the address in the commune `citycode` (INSEE), or None."""
        ...
