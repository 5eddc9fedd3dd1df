"""Cells of every CSV and XLSX file the service writes, made safe to open in a
spreadsheet (CSV/formula injection, OWASP rule).

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read
by Excel, LibreOffice or Google Sheets as a formula (`=HYPERLINK(…)`, `=cmd|…`,
`@SUM(…)`): an offer named so by a partner, the API or an import would run in the
spreadsheet of whoever opens the export. Such a cell is prefixed with a single quote,
which every spreadsheet shows as text. Numbers (int, float) are left as numbers.

Every export goes through `neutralise` (or the helpers below built on it): web
exports of a search, /pilotage CSV files, the data·inclusion CSV of the command line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """`value` unchanged unless it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values: Iterable) -> list:
    return [neutralise(v) for v in values]


def safe_dict(record: Mapping) -> dict:
    return {k: neutralise(v) for k, v in record.items()}


class SafeCsvWriter:
    """csv.writer whose every cell goes through `neutralise`."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable):
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable]):
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):
    """csv.DictWriter whose every value goes through `neutralise` (not the header)."""

    def writerow(self, rowdict: Mapping):
        return super().writerow(safe_dict(rowdict))


def rows_csv(title: str, header: list[str], rows: list[list]) -> bytes:
    """A titled table as a CSV a French spreadsheet opens (semicolons, BOM, decimal commas)."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow(safe_row([title]))
    w.writerow([])
    w.writerow(safe_row(header))
    for r in rows:
        # Text neutralised first, then decimals written the French way (numbers are never formulas).
        w.writerow(["" if v is None else (str(v).replace(".", ",") if isinstance(v, float) else v)
                    for v in safe_row(r)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
