"""The codebook: every variable of every dataset, its item, label in the four languages,
type, unit, codes, range, derivation and skip logic, and its name in each format — as
CSV (variables, codelists) and as a readable HTML page."""
from __future__ import annotations

from pathlib import Path

from ...crf.definitions import MISSING_CODES, ItemDef
from ..plan import KEYS, MISSING_LABELS, Codelists, Dataset
from ..texts import LANGS
from .csv import CsvFile
from .odm import derivation

HEADER = ("DATASET", "VARIABLE", "KIND", "ITEM", "FORM_VERSIONS", "SAS_DATASET",
          "SAS_NAME", "STATA_NAME", "SPSS_NAME") + tuple(f"LABEL_{lang.upper()}"
                                                      for lang in LANGS) + (
          "TYPE", "STATS_STORAGE", "UNIT", "CODELIST", "CODES", "RANGE", "EXPECTED",
          "REQUIRED", "SHOW_IF", "DERIVATION", "NOTES")
CODELIST_HEADER = ("CODELIST", "NAME", "DATASETS", "ORDER", "CODE") + tuple(
    f"LABEL_{lang.upper()}" for lang in LANGS)
KEY_TYPES = {"SUBJID": "text", "SITEID": "text", "VISIT": "text", "REPEAT": "integer",
             "STUDYDY": "integer", "FORMVER": "integer", "RECSTAT": "text"}


def _bounds(b) -> str:
    if not b:
        return ""
    lo, hi = b
    return f"{'' if lo is None else lo}..{'' if hi is None else hi}"


def variable_rows(datasets: list[Dataset], codelists: Codelists, texts):
    """One dict per variable (shared by the CSV and HTML codebooks)."""
    for ds in datasets:
        for v in ds.vars:
            info = ds.items.get(v.item) if v.item else None
            it: ItemDef | None = info.item if info else None
            labels = {lang: texts.get(v.label, lang, v.label_params) for lang in LANGS}
            if v.kind == "indicator":
                choice = next(c for c in info.choices if c.code == v.code)
                labels = {lang: f"{texts.get(it.label, lang)}: {texts.get(choice.label, lang)}"
                          for lang in LANGS}
            row = {"DATASET": ds.oid, "VARIABLE": v.name, "KIND": v.kind,
                   "ITEM": it.name if it else "",
                   "FORM_VERSIONS": ";".join(str(x) for x in (info.versions if info
                                                              else ds.versions)),
                   "SAS_DATASET": ds.member, "SAS_NAME": v.names["sas"],
                   "STATA_NAME": v.names["stata"], "SPSS_NAME": v.names["spss"],
                   "labels": labels, "STATS_STORAGE": v.storage}
            notes = []
            if v.kind == "key":
                row["TYPE"] = KEY_TYPES[v.name]
            elif v.kind == "missing":
                row["TYPE"] = "text"
                row["CODELIST"] = "MISSING"
                row["CODES"] = "; ".join(f"{c} ({MISSING_LABELS[c]})" for c in MISSING_CODES)
            elif v.kind == "indicator":
                row["TYPE"] = "boolean"
                row["CODES"] = "1 (Selected); 0 (Not selected)"
                row["CODELIST"] = codelists.id_for(it)
                notes.append(f"indicator of code '{v.code}' of the multichoice item "
                             f"{it.name}")
            else:
                row["TYPE"] = ("derived " if it.derived else "") + it.type
                row["UNIT"] = it.unit or ""
                if it.codelist:
                    row["CODELIST"] = codelists.id_for(it)
                if v.value_labels and it.type == "boolean":
                    row["CODES"] = "1 (Yes); 0 (No)"
                elif info.codes and it.type == "choice":
                    row["CODES"] = "; ".join(
                        f"{code}={num} ({next(c.label for c in info.choices if c.code == code)})"
                        for code, num in info.codes.items())
                    notes.append("CSV holds the code; SAS, Stata and SPSS hold the number")
                row["RANGE"] = _bounds(it.range)
                row["EXPECTED"] = _bounds(it.expected)
                row["REQUIRED"] = "yes" if it.required else "no"
                row["SHOW_IF"] = it.show_if or ""
                if it.derived:
                    row["DERIVATION"] = derivation(it)
                if it.type == "datetime":
                    notes.append("UTC")
                if it.type == "text":
                    notes.append("SAS transport: cut to 200 bytes; complete in CSV")
            row["NOTES"] = "; ".join(notes)
            yield row


def write_csv(path: Path, datasets: list[Dataset], codelists: Codelists, texts) -> None:
    with CsvFile(path, HEADER) as out:
        for row in variable_rows(datasets, codelists, texts):
            out.writerow([row["labels"][c[6:].lower()] if c.startswith("LABEL_")
                          else row.get(c, "") for c in HEADER])


def write_codelists_csv(path: Path, codelists: Codelists, texts) -> None:
    with CsvFile(path, CODELIST_HEADER) as out:
        for cid, name, choices, users in codelists.entries:
            for k, c in enumerate(choices, 1):
                out.writerow([cid, name, ";".join(users), k, c.code]
                             + [texts.get(c.label, lang) for lang in LANGS])
        for k, code in enumerate(MISSING_CODES, 1):
            out.writerow(["MISSING", "MISSING", "", k, code]
                         + [texts.get(MISSING_LABELS[code], lang) for lang in LANGS])


def write_html(path: Path, env, datasets: list[Dataset], codelists: Codelists, texts, *,
               info: dict) -> None:
    rows = list(variable_rows(datasets, codelists, texts))
    by_ds: dict[str, list] = {}
    for r in rows:
        by_ds.setdefault(r["DATASET"], []).append(r)
    cls = [(cid, name, users, [(c.code, {lang: texts.get(c.label, lang) for lang in LANGS})
                               for c in choices])
           for cid, name, choices, users in codelists.entries]
    missing = [(c, {lang: texts.get(MISSING_LABELS[c], lang) for lang in LANGS})
               for c in MISSING_CODES]
    keys = [(name, {lang: texts.get(label, lang) for lang in LANGS})
            for name, _s, label in KEYS]
    html = env.get_template("exports/codebook.html").render(
        info=info, datasets=[(ds, by_ds.get(ds.oid, []),
                              {lang: texts.get(ds.title, lang) for lang in LANGS})
                             for ds in datasets],
        codelists=cls, missing=missing, keys=keys, langs=LANGS)
    path.write_text(html, encoding="utf-8", newline="\n")
