"""Bedside use on a tablet held upright (768 x 1024 CSS px), in English and Arabic.

On the form page, the patient page and the lists:
- the page never scrolls sideways (document.scrollingElement.scrollWidth <= innerWidth + 1);
- touch targets are big enough. WCAG 2.5.5 (AAA) asks 44 x 44 CSS px, 2.5.8 (2.2 AA) at
  least 24 x 24. A gloved hand at the bedside taps text fields, selects and buttons most:
  those are at least 44 px tall (and wider than that). A radio button or checkbox is
  tapped on its label as well (the label is part of the target): each option's row, the
  input and its label, is at least 44 px tall, and the input itself at least 24 x 24.
  Links inside running text (a pseudonym in a table, "History") are exempt under 2.5.5
  and 2.5.8 ("inline"); the navigation's links are at least 44 px tall;
- the eCRF is one column: each input sits under its label (not squeezed beside it);
- the navigation wraps onto lines within the page and leaves most of the screen to the
  content (the top bar is at most a third of the screen's height).
Screenshots of every page are saved (the shots fixture) for a person to review.
"""
from __future__ import annotations

import pytest
from helpers import email_for, register_patient
from mon_support import APH, DM, actor, patient, record, save

from edc.extensions import db as _db

pytestmark = pytest.mark.browser

W, H = 768, 1024

MEASURE_JS = """() => {
  const vw = innerWidth, out = {scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: vw, wide: [], small: [], topbar: 0};
  const visible = (e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.name ? '[name=' + e.name + ']' : '') + (e.className && typeof e.className ===
    'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  document.querySelectorAll('body *').forEach((e) => {
    const r = e.getBoundingClientRect();
    if (visible(e) && (r.right > vw + 1 || r.left < -1) && !e.closest('.skip'))
      out.wide.push(name(e) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  });
  const tb = document.querySelector('.topbar');
  out.topbar = tb ? tb.getBoundingClientRect().height : 0;
  const fields = 'main input:not([type=hidden]):not([type=radio]):not([type=checkbox]),'
    + ' main select, main textarea, button, .topbar a, main summary, main a.history';
  document.querySelectorAll(fields).forEach((e) => {
    if (!visible(e) || e.closest('details:not([open])') && e.tagName !== 'SUMMARY') return;
    const r = e.getBoundingClientRect();
    if (r.height < 44 - 0.5 || r.width < 44 - 0.5)
      out.small.push(name(e) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
  });
  document.querySelectorAll('main input[type=radio], main input[type=checkbox]')
    .forEach((e) => {
      if (!visible(e)) return;
      const r = e.getBoundingClientRect();
      const lab = e.id && document.querySelector('label[for="' + e.id + '"]')
        || e.closest('label');
      const row = lab ? lab.getBoundingClientRect() : r;
      const top = Math.min(r.top, row.top), bottom = Math.max(r.bottom, row.bottom);
      if (r.width < 24 - 0.5 || r.height < 24 - 0.5 || bottom - top < 44 - 0.5)
        out.small.push(name(e) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height)
                       + ' row ' + Math.round(bottom - top));
    });
  // one column on a tablet: each field's input starts where its label starts
  out.misaligned = [];
  const rtl = document.documentElement.dir === 'rtl';
  document.querySelectorAll('main .field > label[for]').forEach((lab) => {
    const inp = document.getElementById(lab.htmlFor);
    if (!inp || !visible(lab) || !visible(inp)) return;
    const a = lab.getBoundingClientRect(), b = inp.getBoundingClientRect();
    if (Math.abs(rtl ? a.right - b.right : a.left - b.left) > 2)
      out.misaligned.push(name(inp));
  });
  return out;
}"""


@pytest.fixture
def ward(app, world):
    pid = register_patient(app, "ES01", birth_year=2016)
    with app.app_context():
        dm = save(pid, "SCR", "DM", DM).record.id
        save(pid, "APH", "APH", APH)
        from edc.queries import services as queries
        queries.raise_query(actor("monitor"), patient(pid), record(dm), "WEIGHT", "Source?")
        _db.session.remove()
    return pid, dm


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_tablet_portrait(lang, ward, new_page, browser_login, shots):
    pid, dm = ward
    problems = []

    def check(page, what, url=None):
        if url:
            page.goto(url)
        m = page.evaluate(MEASURE_JS)
        shots(page, f"{lang}-768-{what}")
        if m["scrollWidth"] > m["innerWidth"] + 1:
            problems.append(f"{what}: scrolls sideways ({m['scrollWidth']} > "
                            f"{m['innerWidth']}): {m['wide'][:8]}")
        if m["small"]:
            problems.append(f"{what}: small touch targets: {m['small'][:12]}"
                            + (f" (+{len(m['small']) - 12})" if len(m["small"]) > 12 else ""))
        if m["misaligned"]:
            problems.append(f"{what}: inputs not under their labels: {m['misaligned']}")
        if m["topbar"] > H / 3:
            problems.append(f"{what}: the top bar takes {m['topbar']:.0f} px of {H}")

    page = new_page(lang, W, H)
    browser_login(page, email_for("investigator", "ES01"))
    check(page, "home")
    check(page, "patient-list", "/patients/")
    check(page, "patient-page", f"/patients/{pid}")
    check(page, "form-DM", f"/patients/{pid}/records/{dm}")
    check(page, "form-CRS-blank", f"/patients/{pid}/forms/ACUTE/CRS")
    check(page, "queries", "/queries/")
    check(page, "overdue", "/site/overdue")
    page = new_page(lang, W, H)
    browser_login(page, email_for("monitor", "ES01"))
    check(page, "dashboard", "/monitoring/")
    assert not problems, "\n".join(problems)
