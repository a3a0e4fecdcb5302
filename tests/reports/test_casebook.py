"""The patient casebook (issue 7): content, page frame, languages, access, identified
copies, status marks, and the per-site zip."""
import io
import re
import zipfile
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from helpers import email_for, post, register_patient
from reports_support import (IDENTIFIERS, cli_actor, drawn_lines, pages_text, pdf_text,
                             read_rtl)


def flat(data: bytes) -> str:
    return " ".join(pdf_text(data).split())


def _get(c, pid, lang="en"):
    r = c.get(f"/reports/patients/{pid}/casebook.pdf?lang={lang}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/pdf" and r.headers["Cache-Control"] == "no-store"
    return r.data


def test_casebook_holds_values_queries_and_audit_trail(patient_with_data, logged_in):
    pid = patient_with_data
    data = _get(logged_in("coordinator"), pid)
    text = flat(data)
    # values with units and labels with codes, missing-data codes with their reasons
    for expected in ("Weight WEIGHT 23.1 kg", "Height HEIGHT 118 cm", "Sex SEX Female (F)",
                     "Not done (ND): Scale broken", "Language of the consent form ICLANG "
                     "Spanish (es)", "Highest temperature in the last 24 hours CRSTMAX "
                     "39.2 °C", "Body surface area, Mosteller (computed) BSA 0.87 m²"):
        assert expected in text, expected
    # the form version and status of each record
    assert "Form version 1 · Status: Complete" in text
    # queries: the thread, with its state
    assert "Query #1 on Weight [FUWT] — Answered (automatic)" in text
    assert "Value outside the expected range (8 to 130). Please confirm or correct it." \
        in text
    assert "Weight confirmed in the source notes." in text
    assert "Query #1: Answered" in text  # beside the item
    # the audit trail: who, when, old → new, reason
    assert "Appendix: audit trail" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC Investigator ES01 Value changed "
                     r"SCR · DM · WEIGHT 22\.5 kg → 23\.1 kg Transcription error corrected",
                     text), text[text.index("Appendix"):][:3000]
    assert "— → Not done (ND): Scale broken" in text
    assert "Patient registered" in text
    # no direct identifiers in an ordinary casebook
    for ident in IDENTIFIERS.values():
        assert ident not in text
    assert "no direct identifiers" in text


def test_visits_and_forms_in_schedule_order(patient_with_data, logged_in):
    pages = pages_text(_get(logged_in("monitor"), patient_with_data))
    first = {}
    for i, t in enumerate(pages):
        for heading in ("Screening (SCR)", "Daily CRS/ICANS assessments D0–D14 (ACUTE)",
                        "Day 7 (D7)", "Appendix: audit trail"):
            if heading in t and "Visit Due Window" not in " ".join(t.split()):
                first.setdefault(heading, i)
    assert list(first) == ["Screening (SCR)", "Daily CRS/ICANS assessments D0–D14 (ACUTE)",
                           "Day 7 (D7)", "Appendix: audit trail"]
    assert sorted(first.values()) == list(first.values())
    scr = " ".join(pages[first["Screening (SCR)"]].split())
    assert scr.index("(IC)") < scr.index("(DM)")  # the visit's form order: ELIG IC DM MH
    acute = " ".join(pages[first["Daily CRS/ICANS assessments D0–D14 (ACUTE)"]].split())
    assert "(CRS) #1" in acute


def test_every_page_has_the_header(patient_with_data, logged_in):
    pid = patient_with_data
    pages = pages_text(_get(logged_in("investigator"), pid))
    n = len(pages)
    assert n >= 5
    for i, t in enumerate(pages, 1):
        assert f"Page {i} of {n}" in t
        assert pid in t and "ES01" in t and "Hospital Clínic–IDIBAPS, Barcelona" in t
        assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", t)


def test_arabic_casebook(patient_with_data, logged_in):
    pid = patient_with_data
    data = _get(logged_in("investigator"), pid, "ar")
    lines = [t for page in range(3) for _, _, t in drawn_lines(data, page)]
    assert any(pid in t for t in lines)            # the pseudonym stays left to right
    drawn = [t for page in range(len(pages_text(data))) for _, _, t in drawn_lines(data, page)]
    assert any(read_rtl(t) == "أعلى حرارة خلال آخر 24 ساعة" for t in drawn)
    assert any("23.1 kg" in t for t in drawn) and any("39.2 °C" in t for t in drawn)


def test_spanish_and_italian_accents(patient_with_data, logged_in):
    es = flat(_get(logged_in("investigator"), patient_with_data, "es"))
    assert "Año de nacimiento" in es and "Temperatura máxima en las últimas 24 horas" in es
    it = flat(_get(logged_in("investigator"), patient_with_data, "it"))
    assert "Età al consenso informato (calcolata)" in it


@pytest.mark.parametrize("role,site,status", [
    ("investigator", "ES01", 200), ("coordinator", "ES01", 200), ("monitor", "ES01", 200),
    ("data_manager", "ES01", 403), ("statistician", "ES01", 404), ("admin", "ES01", 404),
    ("investigator", "IT01", 404), ("monitor", "IT01", 404)])
def test_who_may_print_a_casebook(app, world, logged_in, role, site, status):
    pid = register_patient(app, "ES01")
    r = logged_in(role, site).get(f"/reports/patients/{pid}/casebook.pdf")
    assert r.status_code == status


def test_patient_page_links(app, world, logged_in):
    pid = register_patient(app, "ES01")
    html = logged_in("investigator").get(f"/patients/{pid}").get_data(as_text=True)
    assert f"/reports/patients/{pid}/casebook.pdf" in html
    assert f"/reports/patients/{pid}/identified" in html
    html = logged_in("coordinator").get(f"/patients/{pid}").get_data(as_text=True)
    assert f"/reports/patients/{pid}/casebook.pdf" in html
    assert f"/reports/patients/{pid}/identified" not in html
    html = logged_in("data_manager").get(f"/patients/{pid}").get_data(as_text=True)
    assert "casebook.pdf" not in html


# ------------------------------------------------------------------ identified copy
def test_identified_copy_for_the_sites_investigator_only(app, world, logged_in):
    from edc.audit.models import AuditEvent
    from edc.extensions import db
    from reports_support import make_patient
    pid = make_patient(app)
    url = f"/reports/patients/{pid}/identified"
    for role, site, status in (("coordinator", "ES01", 403), ("monitor", "ES01", 403),
                               ("data_manager", "ES01", 403), ("investigator", "IT01", 404)):
        c = logged_in(role, site)
        assert c.get(url).status_code == status, role
        assert post(c, url, {"purpose": "x", "confirm": "y", "lang": "en"}).status_code \
            == status, role
    c = logged_in("investigator")
    page = c.get(url)
    assert page.status_code == 200 and 'name="purpose"' in page.get_data(as_text=True)
    # an explicit request: purpose and confirmation required
    assert post(c, url, {"purpose": "", "confirm": "y", "lang": "en"}).status_code == 422
    assert post(c, url, {"purpose": "Transfer", "lang": "en"}).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "casebook.identified")) is None
    r = post(c, url, {"purpose": "Transfer of care to another hospital", "confirm": "y",
                      "lang": "es"})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "IDENTIFIED" in r.headers["Content-Disposition"]
    text = flat(r.data)
    for ident in IDENTIFIERS.values():
        assert ident in text
    assert "Transfer of care to another hospital" in text
    # watermarked, every page
    pages = pages_text(r.data)
    assert all("COPIA IDENTIFICADA — CONFIDENCIAL" in t for t in pages)  # in Spanish
    assert all(f"Impreso para {email_for('investigator', 'ES01')}" not in t for t in pages)
    assert all("Impreso para Investigator ES01" in t for t in pages)
    # the request is audited: who, when, why
    with app.app_context():
        ev = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "casebook.identified")).one()
        assert ev.user_name == "Investigator ES01" and ev.object_id == pid
        assert ev.reason == "Transfer of care to another hospital"
        assert ev.site_code == "ES01" and '"language":"es"' in ev.new_value
        from edc.audit.services import verify
        assert verify().ok
    # and shows in the next casebook's audit trail
    assert "Identified casebook printed" in flat(_get(c, pid))


# ------------------------------------------------------------------ status marks
def test_sdv_lock_and_signatures_are_printed(app, patient_with_data, logged_in):
    """SDV marks, locks and e-signatures (edc/queries SdvMark, edc/signing)."""
    signing = pytest.importorskip("edc.signing.models")
    from edc.crf.models import FormRecord
    from edc.extensions import db
    from edc.patients.models import Patient
    from edc.queries.models import SdvMark
    pid = patient_with_data
    signed = datetime(2026, 1, 15, 9, 30, tzinfo=timezone.utc)
    with app.app_context():
        p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
        dm = db.session.scalars(select(FormRecord).where(FormRecord.form_oid == "DM")).one()
        ic = db.session.scalars(select(FormRecord).where(FormRecord.form_oid == "IC")).one()
        from edc.crf.catalog import form_version
        for item in form_version("DM", 1).entered:
            db.session.add(SdvMark(record_id=dm.id, patient_id=p.id, site_id=p.site_id,
                                   item=item.name, whole_form=True, verified_at=signed,
                                   verified_by_name="Monitor ES01"))
        db.session.add(SdvMark(record_id=ic.id, patient_id=p.id, site_id=p.site_id,
                               item="RFICDAT", verified_at=signed,
                               verified_by_name="Monitor ES01"))
        db.session.add(signing.DataLock(scope="form", site_id=p.site_id, patient_id=p.id,
                                        record_id=dm.id, active=True, locked_at=signed,
                                        locked_by_name="Data_Manager ES01",
                                        reason="Cleaned"))
        user_id = db.session.execute(select(FormRecord.created_by)).scalars().first()
        common = dict(site_id=p.site_id, patient_id=p.id, signer_id=user_id,
                      signer_name="Investigator ES01", signer_role="investigator",
                      meaning="I confirm that the data are complete and accurate.",
                      meaning_text="I confirm that the data are complete and accurate.",
                      record_ids=[dm.id], data_hash="0" * 64)
        visit_sig = signing.Signature(scope="visit", visit_code="SCR", signed_at=signed,
                                      status="valid", **common)
        db.session.add(visit_sig)
        db.session.add(signing.Signature(
            scope="casebook", signed_at=signed, status="invalidated",
            invalidated_at=datetime(2026, 2, 1, 8, 0, tzinfo=timezone.utc),
            invalidated_by_name="Coordinator ES01", invalidated_items=["WEIGHT"], **common))
        db.session.flush()
        # the audit events edc/signing and edc/queries/sdv.py write for these
        from edc.audit.services import SYSTEM, record_many
        lock = db.session.scalars(select(signing.DataLock)).one()
        record_many(SYSTEM, [
            dict(action="sdv.verify", site_code="ES01", object_type="record",
                 object_id=f"{pid}/SCR/IC#1", record_id=ic.id, item="RFICDAT",
                 new="verified"),
            dict(action="lock.form", site_code="ES01", object_type="lock",
                 object_id=lock.id, record_id=dm.id, new=pid, reason="Cleaned"),
            dict(action="signature.visit", site_code="ES01", object_type="signature",
                 object_id=visit_sig.id, new={"target": "SCR"})])
        db.session.commit()
        visit_id = visit_sig.id
    text = flat(_get(logged_in("monitor"), pid))
    assert "SDV: Verified (5 of 5 items" in text
    assert "SDV: Partly verified (1 of" in text
    assert "SDV ✓ 2026-01-15 09:30 UTC" in text
    assert "Lock: locked since 2026-01-15 09:30 UTC" in text
    assert "Lock: not locked" in text       # the other forms
    # signatures: printed name, UTC and site-local time, meaning, invalidated
    assert "Investigator ES01 (Investigator) 2026-01-15 09:30 UTC 2026-01-15 10:30 CET " \
        "I confirm that the data are complete and accurate. Valid" in text
    assert re.search(r"Invalidated on 2026-02-01 08:00 UTC by Coordinator ES01 — "
                     r"changed: WEIGHT", text)
    # and their audit events are in the appendix
    appendix = text[text.index("Appendix: audit trail"):]
    assert "Source data verified SCR · IC · RFICDAT — → Verified" in appendix
    assert "Form frozen SCR · DM" in appendix and "Cleaned" in appendix
    assert f"Visit signed signature {visit_id}" in appendix


# ------------------------------------------------------------------ site zip
def test_site_casebooks_zip_from_the_command_line(app, world, tmp_path):
    from reports_support import make_patient
    pids = [make_patient(app), register_patient(app, "ES01")]
    register_patient(app, "IT01")
    res = app.test_cli_runner().invoke(args=["pdf", "casebooks", "--site", "ES01", "-o",
                                             str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    m = re.search(r"(\S+\.zip): 2 casebooks, (\d+) pages", res.output)
    assert m, res.output
    with zipfile.ZipFile(m.group(1)) as zf:
        names = zf.namelist()
        assert names == [f"{pid}.pdf" for pid in pids]
        total = 0
        for name, pid in zip(names, pids):
            data = zf.read(name)
            pages = pages_text(data)
            total += len(pages)
            assert all(pid in t for t in pages)
            assert IDENTIFIERS["full_name"] not in pdf_text(data)
    assert total == int(m.group(2))
    assert not list((tmp_path / "out").glob("*.part"))
    bad = app.test_cli_runner().invoke(args=["pdf", "casebooks", "--site", "XX99", "-o",
                                             str(tmp_path)])
    assert bad.exit_code == 1 and bad.output.startswith("Error: unknown site XX99")


def test_one_casebook_from_the_command_line(app, world, tmp_path):
    pid = register_patient(app, "ES01")
    out = tmp_path / "cb.pdf"
    res = app.test_cli_runner().invoke(args=["pdf", "casebook", pid.lower(), "--lang", "ar",
                                             "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(b"%PDF")


def test_service_refuses_an_identified_copy_without_a_user(app, world):
    from edc.errors import Forbidden
    from edc.extensions import db
    from edc.patients.models import Patient
    from edc.reports import services
    pid = register_patient(app, "ES01", identifiers=IDENTIFIERS)
    with app.app_context():
        p = db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()
        with pytest.raises(Forbidden):
            services.identified_casebook(cli_actor(), p, "en", io.BytesIO(),
                                         purpose="x")


def test_in_the_users_language_unless_another_is_asked_for(app, world, logged_in):
    pid = register_patient(app, "ES01")
    c = logged_in("investigator")
    post(c, "/language", {"lang": "es"})
    assert "Año de nacimiento" in flat(c.get(f"/reports/patients/{pid}/casebook.pdf").data)
    assert "Year of birth" in flat(_get(c, pid, "en"))


def test_a_removed_form_is_printed_with_its_reason(app, patient_with_data, logged_in):
    from edc import access
    from edc.crf import services as crf
    from edc.crf.models import FormRecord
    from edc.extensions import db
    from reports_support import _actor
    with app.app_context():
        actor = _actor(app)
        patient = access.get_patient(db.session, actor.user, patient_with_data)
        rec = db.session.scalars(select(FormRecord).where(FormRecord.form_oid == "CRS")
                                 .order_by(FormRecord.seq.desc())).first()
        crf.remove(actor, patient, rec, "Entered for the wrong day")
    text = flat(_get(logged_in("monitor"), patient_with_data))
    assert "Status: Removed" in text
    assert "This form was removed. Reason: Entered for the wrong day" in text
    assert "Form removed ACUTE · CRS #2 In progress → Removed Entered for the wrong day" \
        in text
