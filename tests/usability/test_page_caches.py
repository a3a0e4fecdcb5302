"""What the quicker GET pages keep or bind once (issue 8) stays right: labels follow the
language of each request, a record of another form version shows its own definition, dates
are formatted per language, each status icon written once per page is the macro's own."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

from flask import render_template_string
from flask_babel import force_locale
from helpers import post, register_patient
from mon_support import APH, DM, save
from sqlalchemy import update

from edc.extensions import db as _db


def _label_of(html, name):
    m = re.search(r'<label for="%s">([^<]+)' % name, html) or \
        re.search(r'<span class="label" id="%s-label">([^<]+)' % name, html)
    return m.group(1).strip()


def test_form_labels_follow_each_request_language(app, logged_in, world):
    pid = register_patient(app)
    c = logged_in("investigator")
    url = f"/patients/{pid}/forms/SCR/DM"
    seen = []
    for lang in ("en", "it", "ar", "en", "it"):
        post(c, "/language", {"lang": lang})
        html = c.get(url).get_data(as_text=True)
        seen.append((_label_of(html, "BRTHYR"), _label_of(html, "SEX"),
                     re.search(r'for="SEX-0">([^<]+)', html).group(1)))
    assert seen[0] == seen[3] == ("Year of birth", "Sex", "Male")
    assert seen[1] == seen[4] == ("Anno di nascita", "Sesso", "Maschio")
    assert re.search("[\u0600-\u06ff]", seen[2][0])


def test_a_record_of_another_version_shows_that_version(app, logged_in, world):
    """The eCRF of a record entered with another version of the form shows that version's
    items and words, while a new form shows the current one — in the same process, one
    after the other (the field classes are kept per version and language)."""
    from edc.crf import catalog as cat
    from edc.crf.definitions import content_hash
    from edc.crf.models import FormRecord, FormVersion
    pid, other = register_patient(app), register_patient(app)
    with app.app_context():
        cur = cat.current("DM")
        stored = json.loads(cur.source)
        stored["form"]["version"] = 7
        stored["form"]["title"] = "Demographics (version 7)"
        item = next(i for s in stored["form"]["sections"] for i in s["items"]
                    if i["name"] == "BRTHYR")
        item["label"] = "Birth year as asked in version 7"
        source = json.dumps(stored, sort_keys=True)
        h = content_hash(stored)
        _db.session.add(FormVersion(oid="DM", version=7, content_hash=h, source=source,
                                    registered_at=datetime.now(timezone.utc)))
        rid = save(pid, "SCR", "DM", DM).record.id
        _db.session.execute(update(FormRecord).where(FormRecord.id == rid).values(
            form_version=7, content_hash=h))
        _db.session.commit()
        _db.session.remove()
    c = logged_in("investigator")
    for _ in range(2):
        old = c.get(f"/patients/{pid}/records/{rid}").get_data(as_text=True)
        new = c.get(f"/patients/{other}/forms/SCR/DM").get_data(as_text=True)
        assert _label_of(old, "BRTHYR") == "Birth year as asked in version 7"
        assert "Demographics (version 7)" in old and "Form version" in old
        assert re.search(r"Form version <bdi>7</bdi>", old)
        assert _label_of(new, "BRTHYR") == "Year of birth"
        assert "Demographics (version 7)" not in new
        assert re.search(r"Form version <bdi>1</bdi>", new)


def test_dates_formatted_per_language(app):
    from edc.i18n import show_date
    d = date(2026, 3, 10)
    with app.test_request_context():
        got = {}
        for lang in ("en", "it", "es", "ar", "en"):
            with force_locale(lang):
                from flask_babel import format_date
                got.setdefault(lang, []).append((show_date(d), format_date(d, "medium")))
    for lang, pairs in got.items():
        for mine, babel in pairs:
            assert mine == babel, lang
    assert got["en"][0][0] == got["en"][1][0] == "Mar 10, 2026"
    assert got["it"][0][0] != got["en"][0][0] != got["es"][0][0]


def test_a_datetime_is_still_shown_in_the_users_zone(app):
    from edc.i18n import show_date
    late = datetime(2026, 3, 10, 23, 30, tzinfo=timezone.utc)
    with app.test_request_context():
        from flask_babel import format_date
        with force_locale("en"):
            assert show_date(late) == format_date(late, "medium")


def test_patient_list_statuses_follow_the_language(app, logged_in, world):
    register_patient(app)
    c = logged_in("investigator")
    texts = []
    for lang in ("en", "it", "en"):
        post(c, "/language", {"lang": lang})
        html = c.get("/patients/").get_data(as_text=True)
        row = html.split("<tbody>")[1]
        texts.append(re.findall(r"<td>([^<]+)</td>", row)[:2])
    assert texts[0] == texts[2] == ["Screening", "Female"]
    assert texts[1] == ["Screening", "Femmina"]


def test_icons_written_once_are_the_macros_own(app):
    from edc.crf.record_status import FormState, icons_once
    states = [FormState({"complete"}), FormState({"in_progress"}),
              FormState({"complete", "signed", "open_query"}), FormState({"complete"}),
              FormState({"locked", "open_query"}), FormState({"signed"})]
    tpl = ('{% from "status/_icons.html" import state_icons with context %}'
           '{% for s in states %}{{ state_icons(s) }}|{{ state_icons(s, label=false) }}|'
           '{% endfor %}##{% set state_icons = icons_once(state_icons) %}'
           '{% for s in states %}{{ state_icons(s) }}|{{ state_icons(s, label=false) }}|'
           '{% endfor %}')
    for lang in ("en", "ar"):
        with app.test_request_context(), force_locale(lang):
            direct, once = render_template_string(tpl, states=states,
                                                  icons_once=icons_once).split("##")
        assert direct == once
        parts = once.split("|")
        assert parts[0] == parts[6] and parts[0] != parts[1] != parts[2]
        assert parts[4].count('class="form-state ') == 2   # signed + open query
        assert 'fs-word">' in parts[0] and "visually-hidden" in parts[1]


def test_no_sdv_query_without_a_complete_record(app, world):
    from sqlalchemy import event

    from edc.crf.record_status import record_states
    from mon_support import actor, patient, record
    pid = register_patient(app)
    with app.app_context():
        rid = save(pid, "SCR", "DM", DM, complete=False).record.id
        done = save(pid, "APH", "APH", APH).record
        assert done is not None and done.status == "complete"
        from edc.queries import sdv
        sdv.verify(actor("monitor"), patient(pid), record(done.id), None)
        _db.session.commit()
        sql = []

        def seen(conn, cursor, statement, *a):
            sql.append(statement)
        event.listen(_db.engine, "before_cursor_execute", seen)
        try:
            st = record_states([record(rid)])
            n_open = len(sql)
            both = record_states([record(rid), record(done.id)])
        finally:
            event.remove(_db.engine, "before_cursor_execute", seen)
        assert st[rid].state == "in_progress"
        assert not any("sdv_mark" in s for s in sql[:n_open])
        assert any("sdv_mark" in s for s in sql[n_open:])
        assert both[done.id].state == "verified" and both[rid].state == "in_progress"
        _db.session.remove()


def test_record_states_the_same_with_prebuilt_or_chunked_queries(app, world, monkeypatch):
    """The usual page runs the prebuilt statements; beyond CHUNK ids, one statement with
    an IN list per chunk: the same states either way (a frozen form, a locked patient)."""
    from edc.crf import record_status
    from mon_support import actor, patient, record
    from edc.signing import locks
    pids = [register_patient(app) for _ in range(3)]
    with app.app_context():
        rids = [save(p, "APH", "APH", APH).record.id for p in pids]
        rids += [save(p, "SCR", "DM", DM, complete=False).record.id for p in pids]
        locks.freeze_form(actor("data_manager"), patient(pids[0]), record(rids[3]))
        locks.lock_patient(actor("data_manager"), patient(pids[1]))
        _db.session.commit()

        def states():
            got = record_status.record_states([record(r) for r in rids])
            return [(r, got[r].state) for r in rids]
        usual = states()
        monkeypatch.setattr(record_status, "CHUNK", 2)
        chunked = states()
        _db.session.remove()
    assert usual == chunked
    assert [s for _, s in usual] == ["complete", "locked", "complete",
                                     "locked", "locked", "in_progress"]


def test_timeline_links_to_new_forms_are_url_fors_for_each_patient(app, logged_in, world):
    """The links to new forms are written once per app for a placeholder patient: each
    patient's page has its own, equal to url_for's (visit forms, logs, unscheduled)."""
    from flask import url_for
    pids = [register_patient(app), register_patient(app, "IT01")]
    pages = {"ES01": logged_in("investigator").get(f"/patients/{pids[0]}"),
             "IT01": logged_in("investigator", "IT01").get(f"/patients/{pids[1]}")}
    for pid, page in zip(pids, pages.values()):
        html = page.get_data(as_text=True)
        links = re.findall(r'<a class="add" href="([^"]+)"', html)
        assert len(links) > 20
        with app.test_request_context():
            want = set()
            for link in links:
                visit, oid = link.rsplit("/", 2)[1:]
                want.add(url_for("crf.new", pid=pid, visit=visit, oid=oid))
        assert set(links) == want and all(f"/patients/{pid}/forms/" in u for u in links)
        assert f"/patients/{pid}/forms/LOG/AE" in links and \
            f"/patients/{pid}/forms/UNS1/AE" in links


def test_bound_gettext_writes_what_flask_babels_writes(app):
    """_() and ngettext() bound once per render (main_views/i18n.request_gettext) give
    the text of the functions Flask-Babel installs: translation, plural forms, %-format
    variables escaped, in each language."""
    tpl = ('{{ _("Patients") }}|{{ _("Patients at %(site)s", site="<b>&") }}|'
           '{% for n in (0, 1, 2, 5, 11, 100) %}'
           '{{ ngettext("%(num)d open query", "%(num)d open queries", n) }}|{% endfor %}'
           '{{ _("Saved.") }}')
    for lang in ("en", "it", "ar", "es"):
        with app.test_request_context(), force_locale(lang):
            bound = render_template_string(tpl)                  # context processors
            stock = app.jinja_env.from_string(tpl).render()     # Flask-Babel's globals
        assert bound == stock, lang
        assert "&lt;b&gt;&amp;" in bound
        if lang != "en":
            assert "Patients|" not in bound


def test_record_states_see_the_database_lock_as_exports_does(app, world, monkeypatch):
    """record_states reads the database lock in its one statement for what covers the
    records: it agrees with exports.database_lock_message for every kind of lock row
    (the usual page and the chunked statement alike)."""
    from edc.crf import record_status
    from edc.exports.models import DatabaseLock
    from edc.exports.services import database_lock_message
    from mon_support import record
    pid = register_patient(app)
    with app.app_context():
        rids = [save(pid, "APH", "APH", APH).record.id,
                save(pid, "SCR", "DM", DM, complete=False).record.id]
        _db.session.commit()
        rows = [None, ("active", 1), ("released", None), ("active", None), ("released", 1)]
        for row in rows:
            _db.session.query(DatabaseLock).delete()
            if row is not None:
                _db.session.add(DatabaseLock(kind="full", name="Database lock",
                                             status=row[0], active_key=row[1]))
            _db.session.commit()
            locked = database_lock_message() is not None
            for chunk in (500, 1):
                monkeypatch.setattr(record_status, "CHUNK", chunk)
                st = record_status.record_states([record(r) for r in rids])
                assert [st[r].state == "locked" for r in rids] == [locked, locked], \
                    (row, chunk)
        assert locked is True  # the last row: released, yet active_key 1
        _db.session.query(DatabaseLock).delete()
        _db.session.commit()
        _db.session.remove()


def test_legend_kept_per_language_and_id(app, logged_in, world):
    """The status legend is written once per language (and per id) and kept: each page
    shows its own language's legend, with its own id."""
    pid = register_patient(app)
    c = logged_in("investigator")

    def legend(html, id_):
        part = html.split(f'<div class="status-legend" id="{id_}">')[1].split("</div>\n")[0]
        return (re.search(r'class="legend-title"[^>]*>([^<]+)', part).group(1),
                re.findall(r'class="fs-word">([^<]+)', part)[:7])
    got = []
    for lang in ("en", "it", "ar", "en"):
        post(c, "/language", {"lang": lang})
        got.append(legend(c.get(f"/patients/{pid}").get_data(as_text=True),
                          "status-legend"))
        home = c.get("/").get_data(as_text=True)
        assert legend(home, "due-legend") == got[-1]
        assert home.count('class="si-sprite"') == 1
    assert got[0] == got[3] and got[0][0] == "Form status:"
    assert got[0][1] == ["Not started", "In progress", "Complete", "Verified (SDV)",
                         "Open query", "Signed", "Locked"]
    assert got[1][0] != got[0][0] and got[1][1] != got[0][1]
    assert re.search("[\u0600-\u06ff]", got[2][0] + "".join(got[2][1]))


def test_pages_read_signatures_and_locks_only_when_there_are_some(app, logged_in, world):
    """The patient and record pages read what covers their records once
    (record_status.read_covers) for the icons and the monitoring panel; the panel loads
    signatures and locks to show only when that read found some, and then shows them: a
    signature (valid, then invalidated by a change), a frozen form, a patient lock."""
    from sqlalchemy import event

    from edc.signing import locks
    from edc.signing import services as signing
    from helpers import PASSWORD
    from mon_support import actor, patient, record
    pid = register_patient(app)
    with app.app_context():
        rid = save(pid, "APH", "APH", APH).record.id
        engine = _db.engine
    c = logged_in("investigator")
    timeline, record_page = f"/patients/{pid}", f"/patients/{pid}/records/{rid}"

    def page(path):
        sql = []

        def seen(conn, cursor, statement, *a):
            sql.append(" ".join(statement.split()))
        event.listen(engine, "before_cursor_execute", seen)
        try:
            r = c.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert r.status_code == 200
        shows = lambda table: [s for s in sql if s.startswith(  # noqa: E731
            f"SELECT {table}.id, {table}.")]
        return r.get_data(as_text=True), shows("e_signature"), shows("data_lock")

    for path in (timeline, record_page):
        body, sigs, lks = page(path)
        assert not sigs and not lks and "Signed by" not in body and "lock-banner" not in body
    with app.app_context():
        signing.sign(actor("investigator"), patient(pid), "APH", PASSWORD)
    for path in (timeline, record_page):
        body, sigs, lks = page(path)
        assert len(sigs) == 1 and not lks and "Signed by" in body
    with app.app_context():  # a change invalidates the signature: still shown, as void
        out = save(pid, "APH", "APH", dict(APH, APHCD3="900"), record_id=rid,
                   reason="source corrected")
        assert out.saved, out
    for path in (timeline, record_page):
        body, sigs, lks = page(path)
        assert len(sigs) == 1 and "Signature invalidated" in body and "Signed by" not in body
    with app.app_context():
        locks.freeze_form(actor("data_manager"), patient(pid), record(rid), "reviewed")
    body, sigs, lks = page(record_page)
    assert len(lks) == 1 and "This form is frozen" in body
    body, sigs, lks = page(timeline)
    assert not lks and "lock-banner" not in body  # a frozen form: no patient banner
    with app.app_context():
        locks.lock_patient(actor("data_manager"), patient(pid), "monitoring visit")
    for path in (timeline, record_page):
        body, sigs, lks = page(path)
        assert len(lks) == 1 and "This patient's data are locked" in body and \
            "monitoring visit" in body


def test_record_page_reads_sdv_marks_once(app, logged_in, world):
    """The record page reads a complete record's SDV marks once, for its status icon and
    the monitoring panel: verified in both."""
    from sqlalchemy import event

    from edc.queries import sdv
    from mon_support import actor, patient, record
    pid = register_patient(app)
    with app.app_context():
        rid = save(pid, "APH", "APH", APH).record.id
        sdv.verify(actor("monitor"), patient(pid), record(rid), None)
        _db.session.commit()
        engine = _db.engine
    sql = []

    def seen(conn, cursor, statement, *a):
        sql.append(statement)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        r = logged_in("monitor").get(f"/patients/{pid}/records/{rid}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert len([s for s in sql if "FROM sdv_mark" in s]) == 1
    assert 'class="sdv-marker verified"' in body
    assert "Verified (SDV)" in body
