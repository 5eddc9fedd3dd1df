"""Errors of the geo package. Messages are French: they reach users as they are."""


class GeoError(Exception):
    """Base of every geo error."""


_FEMININE = {"commune", "région"}


class UnknownCode(GeoError):
    """An INSEE/EPCI/département/région code that the référentiel does not know."""

    def __init__(self, code: str, kind: str = "code"):
        self.code = code
        self.kind = kind
        ending = "e" if kind in _FEMININE else ""
        super().__init__(f"{kind} inconnu{ending} : {code!r}")


class ZoneError(GeoError):
    """A zone d'éligibilité that cannot be written as it is."""


class TerritoryError(GeoError):
    """A territory that cannot be created as asked (unknown or ambiguous member,
    empty, name or identifier already taken…)."""


class TerritoryExists(TerritoryError):
    """A territory of that identifier exists already (and was not to be replaced)."""
