"""Errors of the catalogue. Messages are French: they reach users as they are."""


class CatalogueError(Exception):
    """Base of every catalogue error."""


class ValidationError(CatalogueError):
    """Input refused. `errors` maps each field to the list of its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{field} : {', '.join(msgs)}" for field, msgs in errors.items())
        )


class NotFound(CatalogueError):
    """No such record."""


class Forbidden(CatalogueError):
    """The actor may not do this to this record."""
