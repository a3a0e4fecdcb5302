"""Form status icons: derived from records, queries, SDV, signatures and locks, with one
query per kind; shown with shape, colour and text on the timeline and the form page."""
import re

import pytest
from helpers import PASSWORD, register_patient
from mon_support import APH, DM, actor, patient, record, save
from sqlalchemy import event

from edc.crf.record_status import PRIORITY, FormState, record_states, slot_state
from edc.extensions import db as _db


@pytest.fixture
def two(app, world):
    """A patient at ES01: APH complete, DM in progress."""
    pid = register_patient(app)
    with app.app_context():
        aph = save(pid, "APH", "APH", APH).record.id
        dm = save(pid, "SCR", "DM", DM, complete=False).record.id
        _db.session.remove()
    return pid, aph, dm


def states(*rids):
    out = record_states([record(r) for r in rids])
    return [out[r] for r in rids]


def test_priority_documented_and_applied():
    assert PRIORITY == ("locked", "signed", "open_query", "verified", "complete",
                        "in_progress", "not_started")
    assert FormState({"complete", "verified", "open_query"}).state == "open_query"
    assert FormState({"complete", "signed", "open_query"}).icons == ["signed", "open_query"]
    assert FormState({"complete", "verified"}).icons == ["verified"]
    assert FormState().state == "not_started"


def test_states_follow_the_data(app, two):
    from edc.queries import sdv
    from edc.queries.services import raise_query, transition
    from edc.signing import locks, services as signing
    pid, aph, dm = two
    with app.app_context():
        a, d = states(aph, dm)
        assert (a.state, d.state) == ("complete", "in_progress")
        sdv.verify(actor("monitor"), patient(pid), record(aph), None)
        assert states(aph)[0].state == "verified"
        q = raise_query(actor("monitor"), patient(pid), record(aph), "APHALC", "Check")
        _db.session.commit()
        assert states(aph)[0].state == "open_query"
        transition(actor("investigator"), patient(pid), q, "answer", "As per source")
        assert states(aph)[0].state == "open_query"  # answered: still unresolved
        transition(actor("monitor"), patient(pid), q, "close", None)
        assert states(aph)[0].state == "verified"
        signing.sign(actor("investigator"), patient(pid), "APH", PASSWORD)
        assert states(aph)[0].state == "signed"
        assert states(dm)[0].state == "in_progress"  # another visit: not signed
        locks.freeze_form(actor("data_manager"), patient(pid), record(dm))
        a, d = states(aph, dm)
        assert d.state == "locked" and a.state == "signed"
        locks.lock_patient(actor("data_manager"), patient(pid))
        assert [s.state for s in states(aph, dm)] == ["locked", "locked"]


def test_one_query_per_kind_whatever_the_number_of_records(app, world):
    pids = [register_patient(app) for _ in range(3)]
    with app.app_context():
        rids = [save(p, "APH", "APH", APH).record.id for p in pids]
        rids += [save(p, "SCR", "DM", DM).record.id for p in pids]
        recs = [record(r) for r in rids]
        counts = []
        for subset in (recs[:1], recs):
            n = [0]

            def count(*a, **k):
                n[0] += 1
            event.listen(_db.engine, "before_cursor_execute", count)
            try:
                record_states(subset)
            finally:
                event.remove(_db.engine, "before_cursor_execute", count)
            counts.append(n[0])
        assert counts[0] == counts[1] <= 5


def test_slot_state_of_repeating_forms():
    class R:
        def __init__(self, id):
            self.id = id
    st = {1: FormState({"complete", "verified"}), 2: FormState({"in_progress"}),
          3: FormState({"complete", "open_query"})}
    assert slot_state([], st).state == "not_started"
    assert slot_state([R(1)], st).state == "verified"
    assert slot_state([R(1), R(2)], st).state == "in_progress"
    assert slot_state([R(1), R(3)], st).state == "open_query"
    assert slot_state([R(1), R(3)], {1: st[1], 3: FormState({"complete"})}).state == \
        "complete"


def icons_of(html):
    return re.findall(r'class="form-state fs-(\w+)"', html)


def test_timeline_and_form_page_show_icons_with_text_and_legend(app, logged_in, two):
    pid, aph, dm = two
    html = logged_in("investigator").get(f"/patients/{pid}").get_data(as_text=True)
    shown = icons_of(html)
    assert "complete" in shown and "in_progress" in shown and "not_started" in shown
    # each icon: an SVG hidden from screen readers, plus its word
    m = re.search(r'<span class="form-state fs-complete"[^>]*><svg class="si si-complete"'
                  r'[^>]*aria-hidden="true"[^>]*>.*?</svg><span class="fs-word">Complete'
                  r'</span>', html, re.S)
    assert m, "icon with its word"
    assert 'id="status-legend"' in html and "Form status:" in html
    assert 'style="' not in html and "<style" not in html  # strict CSP
    page = logged_in("investigator").get(f"/patients/{pid}/records/{dm}").get_data(
        as_text=True)
    assert 'class="form-state fs-in_progress"' in page.split('class="meta"')[1][:1500]
    new = logged_in("investigator").get(f"/patients/{pid}/forms/SCR/MH").get_data(
        as_text=True)
    assert 'fs-not_started' in new.split('class="meta"')[1][:1500]


def test_icons_translated_and_rtl(app, logged_in, two):
    from helpers import post
    pid, aph, dm = two
    c = logged_in("investigator")
    post(c, "/language", {"lang": "ar"})
    html = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert 'dir="rtl"' in html
    word = re.search(r'fs-complete"[^>]*>.*?<span class="fs-word">([^<]+)</span>', html,
                     re.S).group(1)
    assert word != "Complete" and re.search("[\u0600-\u06ff]", word)


def test_every_state_has_a_distinct_shape_and_colour(app):
    from edc import REPO_ROOT
    from edc.crf.record_status import DESCRIPTIONS, LABELS
    tpl = (REPO_ROOT / "edc/templates/status/_icons.html").read_text()
    css = (REPO_ROOT / "edc/static/css/edc.css").read_text()
    shapes, colours = {}, {}
    for s in PRIORITY:
        m = re.search(r'state == "%s" -%%}(.*?){%%-' % s, tpl, re.S)
        assert m, s
        shapes[s] = re.sub(r'class="[^"]*"', "", m.group(1))
        c = re.search(r"\.si-%s \.si-(?:fill|line) \{ (?:fill|stroke): (#[0-9a-f]{6})" % s,
                      css)
        assert c, s
        colours[s] = c.group(1)
        assert s in LABELS and s in DESCRIPTIONS
    assert len(set(shapes.values())) == len(PRIORITY)
    assert len(set(colours.values())) == len(PRIORITY)

    def lum(hex_):
        ch = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        ch = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    for s, c in colours.items():  # WCAG 1.4.11: graphics ≥ 3:1 on white
        assert (1.05) / (lum(c) + 0.05) >= 3, (s, c)
