"""Every format reads back, with labels intact and names within each format's rules."""
import csv
import re
from datetime import datetime, timezone

import pandas as pd
import pyreadstat
import pytest

from edc.exports import plan, services

READERS = {"sas": (pyreadstat.read_xport, "xpt"), "stata": (pyreadstat.read_dta, "dta"),
           "spss": (pyreadstat.read_sav, "sav")}
RULES = {"sas": re.compile(r"^[A-Z_][A-Z0-9_]{0,7}$"),
         "stata": re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$"),
         "spss": re.compile(r"^[A-Za-z][A-Za-z0-9_.@#$]{0,63}$")}


@pytest.fixture
def snap(ctx, trial, actor):
    _lock, s = services.lock_database(actor("data_manager"), kind="full")
    return s


def _codebook(d):
    with open(d / "codebook.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _file(ds_row, fmt, prefix=""):
    oid, member = ds_row["DATASET"], ds_row["SAS_DATASET"]
    return f"{prefix}{member.lower()}.xpt" if fmt == "sas" else \
        f"{prefix}{oid}.{READERS[fmt][1]}"


def test_csv_reads_back_in_pandas(snap):
    d = services.snapshot_dir(snap)
    dm = pd.read_csv(d / "DM.csv", dtype=str, keep_default_na=False)
    assert list(dm.columns[:3]) == ["SUBJID", "SITEID", "VISIT"] and len(dm) == 3
    long = pd.read_csv(d / "items_long.csv", dtype=str, keep_default_na=False)
    assert set(long["FORM"]) >= {"DM", "CRS", "ICANS", "EX"}


@pytest.mark.parametrize("fmt", ["sas", "stata", "spss"])
def test_stats_files_read_back_with_labels(snap, fmt):
    d = services.snapshot_dir(snap)
    cb = _codebook(d)
    reader, _ext = READERS[fmt]
    col = {"sas": "SAS_NAME", "stata": "STATA_NAME", "spss": "SPSS_NAME"}[fmt]
    for oid in ("DM", "CRS", "EX", "AE", "ICANS"):
        rows = [r for r in cb if r["DATASET"] == oid]
        df, meta = reader(str(d / _file(rows[0], fmt)))
        csv_df = pd.read_csv(d / f"{oid}.csv", dtype=str, keep_default_na=False)
        assert len(df) == len(csv_df)
        assert list(df.columns) == [r[col] for r in rows]          # mapped in codebook
        for name in df.columns:
            assert RULES[fmt].match(name), (fmt, name)
        labels = meta.column_names_to_labels
        weight = next((r for r in rows if r["ITEM"] == "WEIGHT" and r["KIND"] == "value"),
                      None)
        if weight:
            expected = weight["LABEL_EN"][:40] if fmt == "sas" else weight["LABEL_EN"]
            assert labels[weight[col]] == expected
            csv_vals = [float(x) if x else None for x in csv_df["WEIGHT"]]
            got = [None if pd.isna(x) else float(x) for x in df[weight[col]]]
            assert got == csv_vals
        assert labels["SUBJID" if fmt != "sas" else "SUBJID"] == "Patient pseudonym"
        assert list(df["SUBJID"]) == list(csv_df["SUBJID"])
        if fmt != "sas":
            sex = next((r for r in rows if r["ITEM"] == "SEX"), None)
            if sex:
                vl = meta.variable_value_labels[sex[col]]
                assert {int(k): v for k, v in vl.items()} == {1: "Male", 2: "Female"}
            ind = next((r for r in rows if r["KIND"] == "indicator"), None)
            if ind:
                vl = meta.variable_value_labels[ind[col]]
                assert {int(k): v for k, v in vl.items()} == {1: "Selected",
                                                              0: "Not selected"}
        # the creation time is the lock time (the same snapshot gives the same bytes)
        lock_time = snap.as_of.astimezone(timezone.utc).replace(tzinfo=None)
        assert abs(meta.creation_time - lock_time).total_seconds() < 60


def test_dates_are_dates_in_stats_files(snap):
    d = services.snapshot_dir(snap)
    csv_df = pd.read_csv(d / "CRS.csv", dtype=str, keep_default_na=False)
    for fmt in ("stata", "spss", "sas"):
        df, meta = READERS[fmt][0](str(d / ("crs.xpt" if fmt == "sas" else
                                            f"CRS.{READERS[fmt][1]}")))
        got = [x.isoformat() if hasattr(x, "isoformat") else x for x in df["CRSDAT"]]
        assert got == list(csv_df["CRSDAT"]), fmt


def test_sas_formats_program_assigns_value_labels(snap):
    d = services.snapshot_dir(snap)
    prog = (d / "formats.sas").read_text()
    assert "proc format;" in prog and '1 = "Male"' in prog
    assert re.search(r"data DM; set DM;\n  format .*SEX F\d{4}F\.", prog)


def test_names_respect_each_format():
    from edc.crf.definitions import load_catalog
    from edc.exports.plan import assign_members, build_dataset
    import edc
    cat = load_catalog(edc.REPO_ROOT / "forms")
    dss = [build_dataset([f]) for f in cat.forms.values()]
    assign_members(dss)
    for ds in dss:
        assert RULES["sas"].match(ds.member)
        for fmt in plan.FORMATS:
            names = [v.names[fmt] for v in ds.vars]
            assert len({n.upper() for n in names}) == len(names), (ds.oid, fmt)
            for n in names:
                assert RULES[fmt].match(n) and n.upper() not in plan.RESERVED[fmt], n
    assert len({ds.member for ds in dss}) == len(dss)


def test_namer_shortens_deterministically():
    n = plan.Namer("sas")
    assert n.name("CRSTMAX") == "CRSTMAX"
    assert n.name("CRSTMAX", "_MC", "MC") == "CRSTM_MC"
    assert n.name("CRSTMAXX", "_MC", "MC") == "CRSTM_M2"
    assert n.name("CRSVASO", "_NOREPINEPHRINE", "_1") == "CRSVAS_1"
    s = plan.Namer("spss")
    assert s.name("WITH") == "WITH2"          # reserved word


def test_pin_timestamp_fixes_header_times(tmp_path):
    from edc.exports.writers.stats import pin_timestamp
    df = pd.DataFrame({"A": [1.0, 2.0], "S": ["x", None]})
    when = datetime(2030, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    for fmt, (reader, ext) in READERS.items():
        p = tmp_path / f"t.{ext}"
        {"sas": lambda: pyreadstat.write_xport(df, str(p), file_format_version=5),
         "stata": lambda: pyreadstat.write_dta(df, str(p)),
         "spss": lambda: pyreadstat.write_sav(df, str(p))}[fmt]()
        pin_timestamp(p, fmt, when)
        _df, meta = reader(str(p))
        assert datetime(2030, 2, 3, 4, 5) <= meta.creation_time <= \
            datetime(2030, 2, 3, 4, 5, 6), fmt
