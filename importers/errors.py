"""Errors of the importers. Messages are French: they reach users as they are."""


class ImporterError(Exception):
    """Base of every importer error."""


class FileFormatError(ImporterError):
    """The file as a whole cannot be read (empty, truncated, not the announced
    format, missing sheet…). Raised before any write: the catalogue is unchanged."""


class UnknownSource(ImporterError):
    """No reader is registered under this name."""


class MappingError(ImporterError):
    """A partner's column mapping (YAML) is malformed."""


class RecordError(ImporterError):
    """One record is refused; `errors` maps each field to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{field} : {', '.join(msgs)}" for field, msgs in errors.items())
        )
