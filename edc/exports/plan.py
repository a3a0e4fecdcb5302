"""What a snapshot holds: one dataset per form, its variables, and each variable's name in
every format (CSV, SAS transport v5, Stata, SPSS). Pure: no Flask, no database.

One definition drives everything: the variables of a dataset are the items of every
version of the form present in the data (newest version's order first), plus key columns.
A multichoice item becomes one 0/1 indicator per code; every item that allows
missing-data codes gets a companion column holding the code.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..crf.definitions import Choice, FormDef, ItemDef
from ..crf.values import N_

# key columns: (CSV name, stats storage, English label msgid)
KEYS = (
    ("SUBJID", "str", N_("Patient pseudonym")),
    ("SITEID", "str", N_("Site code")),
    ("VISIT", "str", N_("Visit code")),
    ("REPEAT", "num", N_("Record number within the visit (repeating forms; 1 otherwise)")),
    ("STUDYDY", "num", N_("Study day: date of the record minus the infusion date (D0 = 0)")),
    ("FORMVER", "num", N_("Form version the record was entered with")),
    ("RECSTAT", "str", N_("Record status: in_progress or complete")),
)
MISSING_LABELS = {
    "ND": N_("Not done"),
    "NA": N_("Not applicable"),
    "UNK": N_("Unknown"),
    "ASKU": N_("Asked but unknown"),
}
YES_NO = {1: N_("Yes"), 0: N_("No")}
SELECTED = {1: N_("Selected"), 0: N_("Not selected")}
MC_LABEL = N_("Missing-data code of %(item)s")

FORMATS = ("sas", "stata", "spss")
# name rules per format: maximum length, allowed characters, reserved words
MAXLEN = {"sas": 8, "stata": 32, "spss": 64}
RESERVED = {
    "sas": set(),
    "stata": {"_ALL", "_B", "BYTE", "_COEF", "_CONS", "DOUBLE", "FLOAT", "IF", "IN", "INT",
              "LONG", "_N", "_PI", "_PRED", "_RC", "_SKIP", "STRL", "USING", "WITH"},
    "spss": {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO",
             "WITH"},
}
LABEL_MAX = {"sas": 40, "stata": 80, "spss": 255}
XPT_STRING_MAX = 200          # bytes, SAS transport v5
STRING_MAX = 2045             # bytes, Stata str# (longer text is cut; full text in CSV)


@dataclass
class Var:
    name: str                       # CSV column name (unique in the dataset)
    kind: str                       # key | value | missing | indicator
    storage: str                    # str | num | date | datetime (stats formats)
    label: str                      # English label (msgid)
    label_params: dict = field(default_factory=dict)
    item: str | None = None
    code: str | None = None         # indicator: the multichoice code
    value_labels: dict[int, str] | None = None
    names: dict[str, str] = field(default_factory=dict)   # format -> name


@dataclass
class ItemInfo:
    item: ItemDef                   # newest definition holding the item
    versions: list[int]             # form versions holding it
    codes: dict[str, int]           # choice: code -> number in the stats formats
    choices: tuple[Choice, ...]     # union of the codelists over the versions


@dataclass
class Dataset:
    oid: str
    title: str
    repeating: bool
    forms: list[FormDef]            # versions in the snapshot, oldest first
    items: dict[str, ItemInfo]      # CSV name -> item (union over versions)
    vars: list[Var]
    member: str = ""                # SAS member (dataset) name, at most 8 characters

    @property
    def versions(self) -> list[int]:
        return [f.version for f in self.forms]


def code_numbers(choices: tuple[Choice, ...]) -> dict[str, int]:
    """Codes as numbers for the stats formats: the codes themselves when they are all
    integers, else their position in the codelist (1, 2, …)."""
    codes = [c.code for c in choices]
    if codes and all(re.fullmatch(r"-?[0-9]{1,9}", c) for c in codes) and \
            len({int(c) for c in codes}) == len(codes):
        return {c: int(c) for c in codes}
    return {c: i for i, c in enumerate(codes, 1)}


def ascii_text(text: str) -> str:
    """A label for SAS transport v5 (ASCII only)."""
    for a, b in (("—", "-"), ("–", "-"), ("°", "deg"), ("µ", "u"), ("²", "2"), ("³", "3"),
                 ("≥", ">="), ("≤", "<="), ("×", "x"), ("’", "'"), ("‘", "'"), ("“", '"'),
                 ("”", '"'), ("…", "...")):
        text = text.replace(a, b)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def cut_bytes(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore")


def _clean(text: str) -> str:
    s = re.sub(r"[^A-Z0-9_]", "_", ascii_text(text).upper())
    return s if s and not s[0].isdigit() else "V" + s


class Namer:
    """Unique names in one format, deterministic in the order names are asked for."""

    def __init__(self, fmt: str):
        self.fmt, self.max = fmt, MAXLEN[fmt]
        self.taken: set[str] = set()

    def name(self, stem: str, suffix: str = "", short_suffix: str = "") -> str:
        stem = _clean(stem)
        suffix = re.sub(r"[^A-Z0-9_]", "_", ascii_text(suffix).upper())
        if len(stem) + len(suffix) <= self.max:
            base = stem + suffix
        elif suffix and len(suffix) <= self.max // 2:
            base = stem[:self.max - len(suffix)] + suffix
        else:
            short = short_suffix or suffix[:self.max // 2]
            base = stem[:self.max - len(short)] + short
        cand, n = base, 1
        while cand.upper() in self.taken or cand.upper() in RESERVED[self.fmt]:
            n += 1
            cand = base[:self.max - len(str(n))] + str(n)
        self.taken.add(cand.upper())
        return cand


class CsvNamer:
    """CSV column names: item names are kept exactly; companions avoid collisions."""

    def __init__(self):
        self.taken: set[str] = set()

    def name(self, wanted: str) -> str:
        cand, n = wanted, 1
        while cand.upper() in self.taken:
            n += 1
            cand = f"{wanted}_{n}"
        self.taken.add(cand.upper())
        return cand


def build_dataset(forms: list[FormDef]) -> Dataset:
    """The dataset of one form from the versions present (oldest first)."""
    forms = sorted(forms, key=lambda f: f.version)
    newest = forms[-1]
    csv = CsvNamer()
    for name, _s, _l in KEYS:
        csv.name(name)
    items: dict[str, ItemInfo] = {}
    by_name: dict[str, str] = {}      # item name (+ type) -> CSV name
    for form in reversed(forms):      # newest first: its order and labels win
        for it in form.items.values():
            key = f"{it.name}:{it.type}"
            if key in by_name:
                info = items[by_name[key]]
                info.versions.append(form.version)
                seen = {c.code for c in info.choices}
                info.choices += tuple(c for c in it.codelist if c.code not in seen)
                continue
            # the same name with another type in a newer version: a separate column
            clash = any(k.split(":")[0] == it.name for k in by_name)
            wanted = f"{it.name}_V{form.version}" if clash else it.name
            cname = csv.name(wanted)
            by_name[key] = cname
            items[cname] = ItemInfo(it, [form.version], {}, tuple(it.codelist))
    vars_: list[Var] = [Var(n, "key", s, lbl) for n, s, lbl in KEYS]
    for cname, info in items.items():
        info.versions.sort()
        it = info.item
        if it.type in ("choice", "multichoice") or (it.derived and info.choices):
            info.codes = code_numbers(info.choices)
        if it.type == "multichoice":
            for c in info.choices:
                vars_.append(Var(csv.name(f"{cname}__{c.code}"), "indicator", "num",
                                 f"{it.label}: {c.label}", item=cname, code=c.code,
                                 value_labels=dict(SELECTED)))
        else:
            storage = {"text": "str", "date": "date", "datetime": "datetime"}.get(it.type,
                                                                                 "num")
            vl = None
            if it.type == "boolean":
                vl = dict(YES_NO)
            elif it.type == "choice" and not info.codes:
                storage = "str"          # a derived choice without a codelist
            elif info.codes and (it.type == "choice" or all(
                    str(n) == code for code, n in info.codes.items())):
                vl = {n: next(c.label for c in info.choices if c.code == code)
                      for code, n in info.codes.items()}
            vars_.append(Var(cname, "value", storage, it.label, item=cname,
                             value_labels=vl))
        if it.missing and not it.derived:
            vars_.append(Var(csv.name(f"{cname}_MC"), "missing", "str", MC_LABEL,
                             {"item": cname}, item=cname))
    ds = Dataset(newest.oid, newest.title, newest.repeating, forms, items, vars_)
    _name_for_formats(ds)
    return ds


def _name_for_formats(ds: Dataset) -> None:
    for fmt in FORMATS:
        namer = Namer(fmt)
        # keys and values first, so that they keep the item's name where they can
        for v in [v for v in ds.vars if v.kind in ("key", "value")]:
            v.names[fmt] = namer.name(v.name)
        for v in [v for v in ds.vars if v.kind not in ("key", "value")]:
            if v.kind == "missing":
                v.names[fmt] = namer.name(v.item, "_MC", "MC")
            else:
                idx = list(ds.items[v.item].codes).index(v.code) + 1
                v.names[fmt] = namer.name(v.item, "_" + v.code, f"_{idx}")


def assign_members(datasets: list[Dataset]) -> None:
    """SAS member names (8 characters) for the datasets, unique in the snapshot."""
    namer = Namer("sas")
    for ds in datasets:
        ds.member = namer.name(ds.oid)


class Codelists:
    """Every codelist of the snapshot's items, with an id: its name, or ``NAME.2`` when
    forms use different lists under one name. Registered in dataset/version/item order,
    so the codebook and the ODM file agree."""

    def __init__(self, datasets: list[Dataset]):
        self._ids: dict[tuple, str] = {}
        self.entries: list[tuple[str, str, tuple[Choice, ...], list[str]]] = []
        for ds in datasets:
            for form in ds.forms:
                for it in form.items.values():
                    if it.codelist:
                        self.id_for(it, ds.oid)

    def id_for(self, item: ItemDef, dataset: str | None = None) -> str:
        name = item.codelist_name or item.name
        key = (name,) + tuple((c.code, c.label) for c in item.codelist)
        cid = self._ids.get(key)
        if cid is None:
            n = sum(1 for k in self._ids if k[0] == name)
            cid = name if n == 0 else f"{name}.{n + 1}"
            self._ids[key] = cid
            self.entries.append((cid, name, item.codelist, []))
        if dataset:
            users = next(e[3] for e in self.entries if e[0] == cid)
            if dataset not in users:
                users.append(dataset)
        return cid

    @staticmethod
    def datatype(choices: tuple[Choice, ...]) -> str:
        codes = [c.code for c in choices]
        return "integer" if codes and all(re.fullmatch(r"-?[0-9]{1,9}", c) for c in codes) \
            else "text"
