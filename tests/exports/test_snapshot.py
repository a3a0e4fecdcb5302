"""Snapshot contents: CSV, codebook, manifest and signature, determinism, identifiers."""
import csv
import json
from datetime import date

from sqlalchemy import insert, select

from edc.crf.models import FormRecord
from edc.exports import manifest as mf
from edc.exports import services


def _lock(actor, **kw):
    kw.setdefault("kind", "full")
    return services.lock_database(actor("data_manager"), **kw)


def _csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_wide_csv_one_row_per_record_with_keys_and_codes(ctx, db, trial, actor):
    _lock_, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    rows = _csv(d / "DM.csv")
    n = db.session.scalar(select(__import__("sqlalchemy").func.count(FormRecord.id))
                          .where(FormRecord.form_oid == "DM"))
    assert len(rows) == n == 3
    assert list(rows[0])[:7] == ["SUBJID", "SITEID", "VISIT", "REPEAT", "STUDYDY",
                                 "FORMVER", "RECSTAT"]
    assert [r["SUBJID"] for r in rows] == sorted(r["SUBJID"] for r in rows)
    assert {r["SITEID"] for r in rows} == {"ES01", "IT01"}
    assert all(r["VISIT"] == "SCR" and r["FORMVER"] == "1" for r in rows)
    assert all(r["SEX"] in ("", "M", "F") for r in rows)          # coded values
    assert "SEX_MC" in rows[0] and "BSA" in rows[0] and "BSA_MC" not in rows[0]
    # a multichoice item is one 0/1 indicator per code
    crs = _csv(d / "CRS.csv")
    vaso = [k for k in crs[0] if k.startswith("CRSVASO__")]
    assert len(vaso) == 6 and all(r[k] in ("", "0", "1") for r in crs for k in vaso)
    # repeating forms: one row per record, numbered
    assert sorted({r["REPEAT"] for r in crs}) == ["1", "2", "3"]


def test_study_day_relative_to_infusion_and_iso_dates(ctx, db, trial, actor):
    _l, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    ex = {r["SUBJID"]: r for r in _csv(d / "EX.csv")}
    crs = _csv(d / "CRS.csv")
    for r in crs:
        d0 = date.fromisoformat(ex[r["SUBJID"]]["EXSTDAT"])
        assert int(r["STUDYDY"]) == (date.fromisoformat(r["CRSDAT"]) - d0).days
    assert {r["STUDYDY"] for r in ex.values()} == {"0"}
    scr = _csv(d / "ELIG.csv")
    assert all(int(r["STUDYDY"]) < 0 for r in scr)               # before infusion
    assert all(r["STUDYDY"] == "" for r in _csv(d / "DM.csv"))    # no date on the form
    for r in _csv(d / "EX.csv"):
        if r["EXSTDTC"]:
            assert r["EXSTDTC"].endswith("Z") and r["EXSTDTC"][10] == "T"


def test_long_csv_one_row_per_item_value_with_missing_codes(ctx, db, trial, actor):
    _l, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    rows = _csv(d / "items_long.csv")
    assert list(rows[0]) == ["SUBJID", "SITEID", "VISIT", "FORM", "FORMVER", "REPEAT",
                             "STUDYDY", "ITEM", "VALUE", "MISSING"]
    assert len(rows) == trial.n_values
    coded = [r for r in rows if r["MISSING"]]
    assert coded and all(r["VALUE"] == "" and r["MISSING"] in ("ND", "NA", "UNK", "ASKU")
                         for r in coded)
    # the wide file holds the same code in the item's _MC column
    r = coded[0]
    wide = [w for w in _csv(d / f"{r['FORM']}.csv")
            if w["SUBJID"] == r["SUBJID"] and w["VISIT"] == r["VISIT"]
            and w["REPEAT"] == r["REPEAT"]]
    assert wide[0][f"{r['ITEM']}_MC"] == r["MISSING"]
    raw = (d / "items_long.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "حمى".encode() in raw


def test_manifest_lists_every_file_and_is_signed(app, ctx, db, trial, actor):
    lock, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    man = json.loads((d / "manifest.json").read_text())
    listed = {f["path"] for f in man["files"]}
    on_disk = {p.name for p in d.iterdir()} - {"manifest.json", "manifest.sig"}
    assert listed == on_disk
    for f in man["files"]:
        assert f["size"] == (d / f["path"]).stat().st_size
        assert f["sha256"] == mf.sha256_file(d / f["path"])
    assert man["snapshot"] == "full-v1" and man["locked"] is True
    assert man["lock_time"] == lock.locked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert man["locked_by"] == "Data_Manager ES01"
    assert man["form_versions"]["DM"] == [{"version": 1, "content_hash":
                                           man["form_versions"]["DM"][0]["content_hash"]}]
    assert man["record_counts"]["DM"] == {"ES01": 2, "IT01": 1}
    assert man["record_counts"]["CRS"] == {"ES01": 6, "IT01": 3}
    assert man["item_values"] == trial.n_values
    key = mf.load_private_key(app.config, app.instance_path)
    assert mf.verify(d, key.public_key())[0] == []
    assert (d / mf.PUBLIC_KEY).read_bytes() == mf.public_pem(key.public_key())
    # stored read-only, and recorded
    assert not (d / "DM.csv").stat().st_mode & 0o222
    assert snap.manifest_sha256 == mf.sha256_file(d / "manifest.json")


def test_signing_key_created_on_first_use_mode_0600(app, ctx, tmp_path):
    cfg = dict(app.config, SIGNING_KEY_FILE="fresh.key")
    key = mf.load_private_key(cfg, str(tmp_path))
    path = tmp_path / "fresh.key"
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    again = mf.load_private_key(cfg, str(tmp_path))
    assert mf.public_pem(again.public_key()) == mf.public_pem(key.public_key())


def test_same_snapshot_again_is_byte_identical(ctx, db, trial, actor, tmp_path):
    _l, snap = _lock(actor, odm_audit=True)
    assert services.rebuild(snap, tmp_path / "again") == []
    stored = services.snapshot_dir(snap)
    for p in stored.iterdir():
        assert (tmp_path / "again" / p.name).read_bytes() == p.read_bytes(), p.name
    # and the zip of the stored files too
    z1 = b"".join(services.stream_zip(stored, sorted(x.name for x in stored.iterdir()),
                                      snap.as_of))
    z2 = b"".join(services.stream_zip(stored, sorted(x.name for x in stored.iterdir()),
                                      snap.as_of))
    assert z1 == z2


def test_rebuild_refused_after_unlock(ctx, db, trial, actor, tmp_path):
    import pytest

    from edc.errors import ServiceError
    _l, snap = _lock(actor)
    services.unlock_database(actor("data_manager"), "fix")
    with pytest.raises(ServiceError):
        services.rebuild(snap, tmp_path / "x")


def test_no_direct_identifiers_anywhere(ctx, db, trial, actor):
    _l, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    needles = [s.encode() for s in trial.identifiers] + \
        [s.encode("utf-16-le") for s in trial.identifiers[:1]]
    for p in d.iterdir():
        blob = p.read_bytes()
        for n in needles:
            assert n not in blob, (p.name, n)
    header = _csv(d / "DM.csv")[0].keys()
    assert not {"NAME", "MRN", "BIRTH_DATE", "BRTHDTC"} & set(header)


def test_interim_cut_leaves_out_later_records(ctx, db, trial, actor):
    from edc.patients.models import Patient
    reg = db.session.scalars(select(Patient)).first().registered_on
    cutoff = date.fromordinal(reg.toordinal() + 21)     # D0 + 1: acute days 0 and 1
    _l, snap = _lock(actor, kind="interim", name="Safety run-in", cutoff=cutoff)
    d = services.snapshot_dir(snap)
    crs = _csv(d / "CRS.csv")
    assert crs and all(date.fromisoformat(r["CRSDAT"]) <= cutoff for r in crs)
    assert {r["REPEAT"] for r in crs} == {"1", "2"}
    assert _csv(d / "FU.csv") == []                      # D7 and later: after the cut
    man = json.loads((d / "manifest.json").read_text())
    assert man["cutoff"] == cutoff.isoformat() and man["kind"] == "interim"


def test_two_form_versions_make_one_dataset(ctx, db, trial, actor):
    from export_data import register_newer_version

    from edc.crf import catalog as cat
    from edc.patients.models import Patient
    v2 = register_newer_version("DM")
    p = db.session.scalars(select(Patient).order_by(Patient.id.desc())).first()
    form = cat.form_version("DM", v2)
    db.session.execute(insert(FormRecord), [dict(
        patient_id=p.id, site_id=p.site_id, visit_code="UNS2", form_oid="DM",
        form_version=v2, content_hash=form.content_hash, seq=1, status="complete",
        values={"BRTHYR": 2015, "SEX": "U", "ETHNIC": True, "WEIGHT": "20.5",
                "HEIGHT": "112"}, missing={}, completed_once=True, row_version=1,
        created_at=p.created_at, updated_at=p.created_at)])
    db.session.commit()
    _l, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    rows = _csv(d / "DM.csv")
    assert [r["FORMVER"] for r in rows].count(str(v2)) == 1
    new = next(r for r in rows if r["FORMVER"] == str(v2))
    assert new["ETHNIC"] == "1" and new["SEX"] == "U"
    assert all(r["ETHNIC"] == "" for r in rows if r["FORMVER"] == "1")
    cb = _csv(d / "codebook.csv")
    eth = next(r for r in cb if r["DATASET"] == "DM" and r["VARIABLE"] == "ETHNIC")
    assert eth["FORM_VERSIONS"] == str(v2)
    sex = next(r for r in cb if r["DATASET"] == "DM" and r["VARIABLE"] == "SEX")
    assert sex["FORM_VERSIONS"] == f"1;{v2}" and "U=3" in sex["CODES"]
    man = json.loads((d / "manifest.json").read_text())
    assert [v["version"] for v in man["form_versions"]["DM"]] == [1, v2]


def test_codebook_every_item_four_languages(ctx, db, trial, actor):
    from edc.crf import catalog as cat
    _l, snap = _lock(actor)
    d = services.snapshot_dir(snap)
    cb = _csv(d / "codebook.csv")
    for form in cat.catalog().forms.values():
        for it in form.items.values():
            rows = [r for r in cb if r["DATASET"] == form.oid and r["ITEM"] == it.name]
            assert rows, (form.oid, it.name)
            main = rows[0]
            assert main["LABEL_EN"] and main["LABEL_AR"] and main["LABEL_ES"] and \
                main["LABEL_IT"]
            if it.derived:
                assert main["DERIVATION"].startswith(it.function + "(")
            if it.unit:
                assert main["UNIT"] == it.unit
            if it.codelist:
                assert main["CODELIST"]
    dm_bsa = next(r for r in cb if r["DATASET"] == "DM" and r["VARIABLE"] == "BSA")
    assert dm_bsa["LABEL_ES"] != dm_bsa["LABEL_EN"]      # translated, not the msgid
    cl = _csv(d / "codebook_codelists.csv")
    sex = [r for r in cl if r["CODELIST"] == "SEX"]
    assert [r["CODE"] for r in sex] == ["M", "F"] and all(r["LABEL_AR"] for r in sex)
    html = (d / "codebook.html").read_text(encoding="utf-8")
    assert "<table" in html and "ds-DM" in html and 'lang="ar"' in html
    assert "style=" not in html and "<script" not in html
    assert dm_bsa["LABEL_AR"] in html


def test_working_export_is_marked_not_locked_everywhere(app, ctx, db, trial, actor):
    snap = services.working_export(actor("data_manager", "IT01"))
    assert snap.kind == "working" and snap.site_codes == ["IT01"]
    d = services.snapshot_dir(snap)
    man = json.loads((d / "manifest.json").read_text())
    assert man["locked"] is False and "NOT LOCKED" in man["status"]
    assert man["lock"] is None and man["lock_time"] is None
    names = [f["path"] for f in man["files"] if f["path"] != mf.PUBLIC_KEY]
    assert names and all(n.startswith("NOT_LOCKED_") for n in names)
    assert "NOT LOCKED" in (d / "NOT_LOCKED_codebook.html").read_text()
    assert b"NOT LOCKED" in (d / "NOT_LOCKED_odm.xml").read_bytes()[:2000]
    assert {r["SITEID"] for r in _csv(d / "NOT_LOCKED_DM.csv")} == {"IT01"}
    import pyreadstat
    _df, meta = pyreadstat.read_sav(str(d / "NOT_LOCKED_DM.sav"), metadataonly=True)
    assert "NOT LOCKED" in meta.file_label
    # statisticians never see working exports
    assert snap not in services.list_snapshots(actor("statistician").user)
    assert snap in services.list_snapshots(actor("data_manager", "IT01").user)
    # a working export of every site is not for a data manager of one site
    wide = services.working_export(actor("data_manager", "ES01"))
    assert wide.site_codes == ["ES01", "IT01", "JO01", "LB01"]
    assert wide not in services.list_snapshots(actor("data_manager", "IT01").user)
    assert snap in services.list_snapshots(actor("data_manager", "ES01").user)
