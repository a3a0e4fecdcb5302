"""SAS transport (XPT v5), Stata (.dta) and SPSS (.sav) files through pyreadstat.

One form's records are buffered as rows (one form at a time, never the whole dataset),
then written in the three formats with variable labels and, for Stata and SPSS, value
labels (SAS transport files cannot hold them: ``formats.sas`` defines them as SAS
formats and assigns them). Names follow each format's rules (see plan.py) and are mapped
in the codebook.

ReadStat stamps files with the current time; the stamp is replaced by the snapshot's
lock time, so the same snapshot always gives the same bytes.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

from ..plan import (LABEL_MAX, STRING_MAX, XPT_STRING_MAX, Dataset, ascii_text,
                    cut_bytes)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
          "Dec")
NAN = float("nan")
DATE_FORMATS = {"sas": "DATE9", "stata": "%td", "spss": "DATE11"}


class StatsBuffer:
    """The rows of one dataset, as Python values ready for a data frame."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self.rows: list[list] = []
        self._cols: list | None = None

    def add(self, row: list) -> None:
        self.rows.append(row)

    def _columns(self) -> list:
        """Typed columns, built once for the three formats (rows are dropped)."""
        if self._cols is None:
            import numpy as np
            import pandas as pd
            n = len(self.rows)
            cols = list(zip(*self.rows)) if self.rows else [()] * len(self.ds.vars)
            self.rows = []
            out = []
            for v, col in zip(self.ds.vars, cols):
                if v.storage == "num":
                    out.append(("num", np.fromiter(col, dtype=np.float64, count=n)))
                elif v.storage in ("date", "datetime"):
                    if any(x is not None for x in col):
                        out.append(("obj", pd.Series(col, dtype=object)))
                    else:
                        out.append(("nodate", pd.Series([None] * n, dtype="datetime64[us]")))
                else:
                    # "" is the missing value of a string in SAS, Stata and SPSS alike
                    col = ["" if x is None else x for x in col]
                    longest = max(map(len, col), default=0)
                    out.append(("str", col, longest))
            self._cols = out
        return self._cols

    def frame(self, fmt: str):
        """A pandas data frame with the format's names, and the names of date columns
        that hold no value (written with a date format all the same)."""
        import pandas as pd
        limit = XPT_STRING_MAX if fmt == "sas" else STRING_MAX
        data, empty_dates = {}, []
        for v, col in zip(self.ds.vars, self._columns()):
            name = v.names[fmt]
            if col[0] == "str":
                values = col[1]
                if col[2] * 4 > limit:     # may be too long in UTF-8: cut on a boundary
                    values = [cut_bytes(x, limit) for x in values]
                data[name] = pd.Series(values, dtype=object)
            else:
                data[name] = col[1]
                if col[0] == "nodate" and v.storage == "date":
                    empty_dates.append(name)
        return pd.DataFrame(data, copy=False), empty_dates

    def clear(self) -> None:
        self.rows = []
        self._cols = None


def _labels(ds: Dataset, fmt: str, texts) -> dict[str, str]:
    out = {}
    for v in ds.vars:
        label = texts.get(v.label, "en", v.label_params) if texts else v.label
        if fmt == "sas":
            label = ascii_text(label)[:LABEL_MAX["sas"]]
        else:
            label = cut_bytes(label, LABEL_MAX[fmt])
        out[v.names[fmt]] = label
    return out


def _value_labels(ds: Dataset, fmt: str) -> dict[str, dict[int, str]]:
    return {v.names[fmt]: {k: cut_bytes(lbl, 120) for k, lbl in v.value_labels.items()}
            for v in ds.vars if v.value_labels}


def write(buf: StatsBuffer, fmt: str, path: Path, *, file_label: str, as_of: datetime,
          texts=None) -> None:
    import pyreadstat
    ds = buf.ds
    df, empty_dates = buf.frame(fmt)
    labels = _labels(ds, fmt, texts)
    formats = {n: DATE_FORMATS[fmt] for n in empty_dates} or None
    if fmt == "sas":
        pyreadstat.write_xport(df, str(path), file_label=ascii_text(file_label)[:40],
                               column_labels=labels, table_name=ds.member,
                               file_format_version=5, variable_format=formats)
    elif fmt == "stata":
        pyreadstat.write_dta(df, str(path), file_label=cut_bytes(file_label, 80),
                             column_labels=labels, version=15,
                             variable_value_labels=_value_labels(ds, fmt) or None,
                             variable_format=formats)
    elif fmt == "spss":
        pyreadstat.write_sav(df, str(path), file_label=ascii_text(file_label)[:64],
                             column_labels=labels,
                             variable_value_labels=_value_labels(ds, fmt) or None,
                             variable_format=formats)
    else:
        raise ValueError(fmt)
    del df
    pin_timestamp(path, fmt, as_of)


# ---------------------------------------------------------------- deterministic stamps
_XPT_STAMP = re.compile(rb"[0-9]{2}[A-Z]{3}[0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{2}")


def pin_timestamp(path: Path, fmt: str, when: datetime) -> None:
    """Replace the creation time ReadStat wrote into the header by ``when`` (UTC)."""
    when = when.astimezone(timezone.utc)
    mon = MONTHS[when.month - 1]
    with open(path, "r+b") as fh:
        head = bytearray(fh.read(65536))
        if fmt == "sas":
            end = head.find(b"NAMESTR")
            stamp = f"{when:%d}{mon.upper()}{when:%y}:{when:%H:%M:%S}".encode()
            for m in list(_XPT_STAMP.finditer(bytes(head[:end if end > 0 else 0]))):
                head[m.start():m.end()] = stamp
        elif fmt == "spss":
            if head[:4] not in (b"$FL2", b"$FL3"):
                raise ValueError(f"{path.name}: not an SPSS file")
            head[92:101] = f"{when:%d} {mon} {when:%y}".encode()
            head[101:109] = f"{when:%H:%M:%S}".encode()
        elif fmt == "stata":
            i = head.find(b"<timestamp>")
            if i < 0:
                raise ValueError(f"{path.name}: no timestamp in the Stata header")
            n = head[i + 11]
            stamp = f"{when:%d} {mon} {when:%Y} {when:%H:%M}".encode()
            if n == len(stamp):
                head[i + 12:i + 12 + n] = stamp
        fh.seek(0)
        fh.write(head)


# ---------------------------------------------------------------- SAS formats
def sas_formats_program(datasets: list[Dataset], texts=None) -> str:
    """A SAS program: value labels as formats, assigned to the variables of each dataset
    after reading its transport file."""
    lines = ["/* MILenARI EDC: value labels for the SAS transport files.",
             "   Usage: libname x xport 'dm.xpt'; data dm; set x.dm; run; then run this",
             "   program's PROC FORMAT, and the FORMAT statement of the dataset. */",
             "proc format;"]
    fmt_names: dict[tuple, str] = {}
    assign: dict[str, list[tuple[str, str]]] = {}
    n = 0
    for ds in datasets:
        for v in ds.vars:
            if not v.value_labels:
                continue
            key = tuple(sorted(v.value_labels.items()))
            if key not in fmt_names:
                n += 1
                fmt_names[key] = f"F{n:04d}F"
                lines.append(f"  value {fmt_names[key]}")
                for k, lbl in sorted(v.value_labels.items()):
                    text = ascii_text(texts.get(lbl, "en") if texts else lbl)
                    lines.append(f"    {k} = \"{text.replace(chr(34), chr(39))[:200]}\"")
                lines.append("  ;")
            assign.setdefault(ds.member, []).append((v.names["sas"], fmt_names[key]))
    lines.append("run;")
    for member, pairs in assign.items():
        lines.append(f"/* {member} */")
        lines.append(f"data {member}; set {member};")
        for i in range(0, len(pairs), 4):
            lines.append("  format " + " ".join(f"{a} {b}." for a, b in pairs[i:i + 4]) + ";")
        lines.append("run;")
    return "\n".join(lines) + "\n"


def to_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def to_datetime(text: str) -> datetime | None:
    # naive UTC: the formats have no time zones (the codebook says UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ") if text else None
