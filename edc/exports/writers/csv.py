"""CSV files: one per form (one row per record) and one long file (one row per value).

UTF-8 without BOM, a header row, RFC 4180 quoting with CRLF line ends, ISO 8601 dates
(date-times in UTC with ``Z``), coded values (codelist codes, booleans 1/0, multichoice
as 0/1 indicators per code), and missing-data codes in their own columns.
"""
from __future__ import annotations

import csv as _csv
from pathlib import Path

LONG_HEADER = ("SUBJID", "SITEID", "VISIT", "FORM", "FORMVER", "REPEAT", "STUDYDY", "ITEM",
               "VALUE", "MISSING")


class CsvFile:
    def __init__(self, path: Path, header):
        self._fh = open(path, "w", encoding="utf-8", newline="")
        self._w = _csv.writer(self._fh)
        self.writerow = self._w.writerow
        self.writerows = self._w.writerows
        self.rows = 0
        self._w.writerow(header)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def text_of(item_type: str, value) -> str:
    """A stored value as CSV text (the long file; wide files use the same rules)."""
    if value is None:
        return ""
    if item_type == "boolean" or isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
