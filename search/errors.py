"""Errors of the search package."""


class SearchError(Exception):
    """Base of every search error."""


class SearchUnavailable(SearchError):
    """The engine cannot answer now (down, unreachable, timing out)."""


class UnsupportedFilter(SearchError):
    """The engine cannot apply a filter of the query: never ignored silently."""


class InvalidQuery(SearchError):
    """A query parameter is wrong; `field` names it, the message says why (French)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field} : {message}")
