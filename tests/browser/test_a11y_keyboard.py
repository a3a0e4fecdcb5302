"""Keyboard-only data entry: an investigator fills and saves an eCRF with Tab, Shift+Tab,
typing, Space and Enter only (no mouse, no page.fill/click on the form).

Checked on the way:
- the skip link is the first tab stop, and moves the focus into the page's content;
- every tab stop shows a visible focus indicator: its computed outline or box-shadow on
  :focus-visible differs from the unfocused element, and is at least 2 px wide;
- the tab order is the DOM order (no positive tabindex) and, for the form's fields, the
  visual order top to bottom;
- after a failed save the focus is on the error summary; each field in error has
  aria-invalid="true" and aria-describedby pointing at its error text, and the summary's
  link moves the focus to the field.
"""
from __future__ import annotations

import re

import pytest
from helpers import email_for, register_patient
from sqlalchemy import select

from edc.extensions import db as _db

pytestmark = pytest.mark.browser

FOCUS_JS = """() => {
  const bg = (el) => {   // the colour around the element: its first opaque ancestor's
    for (let p = el.parentElement; p; p = p.parentElement) {
      const c = getComputedStyle(p).backgroundColor;
      if (c && c !== 'transparent' && !c.endsWith(', 0)')) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  return {tag: e.tagName, id: e.id, name: e.getAttribute('name'), type: e.type || null,
          cls: e.className, idx: e.dataset.kbIdx ? Number(e.dataset.kbIdx) : -1,
          text: (e.innerText || e.value || '').slice(0, 40),
          fv: e.matches(':focus-visible'), outline: s.outlineStyle + ' ' + s.outlineWidth
          + ' ' + s.outlineColor, ow: parseFloat(s.outlineWidth) || 0,
          ostyle: s.outlineStyle, shadow: s.boxShadow, ocolor: s.outlineColor, bg: bg(e),
          top: r.top + scrollY,
          left: r.left, right: r.right, inMain: !!e.closest('main'),
          inForm: !!e.closest('#crf-form'), visible: r.width > 0 && r.height > 0
          && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth};
}"""
# Number every focusable element in DOM order and remember its unfocused outline/shadow.
INDEX_JS = """() => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
            + '[tabindex]';
  const out = [];
  document.querySelectorAll(sel).forEach((e, i) => {
    e.dataset.kbIdx = i;
    const s = getComputedStyle(e);
    out.push({outline: s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor,
              shadow: s.boxShadow, tabindex: e.getAttribute('tabindex')});
  });
  return out;
}"""


def _focus(page):
    return page.evaluate(FOCUS_JS)


def _tab_to(page, pred, *, limit=80, back=False, visited=None):
    """Press Tab (Shift+Tab) until ``pred(focused)``; returns the focused element."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        f = _focus(page)
        if visited is not None and f:
            visited.append(f)
        if f and pred(f):
            return f
    raise AssertionError(f"never reached the element; last focus: {_focus(page)}")


def _rgb(css: str) -> tuple[float, float, float]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css)[:3])


def contrast(a: str, b: str) -> float:
    def lum(c):
        ch = [v / 255 for v in _rgb(c)]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _assert_focus_visible(f, unfocused):
    assert f["fv"], f"no :focus-visible on {f}"
    before = unfocused[f["idx"]] if f["idx"] >= 0 else None
    shows = (f["ostyle"] not in ("none", "hidden") and f["ow"] >= 2) or \
        f["shadow"] not in ("none", "")
    assert shows, f"no visible focus indicator on {f}"
    if before is not None:
        assert (f["outline"], f["shadow"]) != (before["outline"], before["shadow"]), \
            f"the focus indicator equals the unfocused style: {f}"
    # WCAG 1.4.11: some ring of the indicator contrasts 3:1 with the colour around it
    rings = ([f["ocolor"]] if f["ostyle"] not in ("none", "hidden") else []) + \
        re.findall(r"rgba?\([^)]*\)", f["shadow"] if f["shadow"] != "none" else "")
    best = max(contrast(c, f["bg"]) for c in rings)
    assert best >= 3, f"focus indicator contrast {best:.2f}:1 on {f['bg']}: {f}"


def test_keyboard_only_data_entry(app, world, new_page, browser_login, shots):
    pid = register_patient(app, "ES01", birth_year=2016)
    page = new_page("en")
    browser_login(page, email_for("investigator", "ES01"))
    page.goto(f"/patients/{pid}/forms/SCR/DM")
    unfocused = page.evaluate(INDEX_JS)
    assert not [u for u in unfocused if u["tabindex"] not in (None, "-1", "0")], \
        "a positive tabindex breaks the DOM tab order"

    # the skip link is the first tab stop, visible when focused, and leads into <main>
    page.keyboard.press("Tab")
    f = _focus(page)
    assert f and "skip" in f["cls"] and f["visible"], f
    _assert_focus_visible(f, unfocused)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    first = _focus(page)
    assert first["inMain"], f"after the skip link, Tab went to {first}"

    # walk the whole form with Tab: DOM order, visual order, a visible focus everywhere
    page.keyboard.press("Shift+Tab")
    seen = []
    _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["inForm"], visited=seen, limit=200)
    for f in seen:
        _assert_focus_visible(f, unfocused)
    order = [f["idx"] for f in seen]
    assert order == sorted(order), f"tab order is not the DOM order: {order}"
    fields = [f for f in seen if f["inForm"]]
    tops = [round(f["top"]) for f in fields]
    assert all(b >= a - 2 for a, b in zip(tops, tops[1:])), \
        "fields are not tabbed top to bottom: " + ", ".join(
            f"{f['name'] or f['id'] or f['tag']}@{round(f['top'])}" for f in fields)
    shots(page, "keyboard-form-focus-on-save")

    # fill with the keyboard from the top of the form: a bad weight first
    page.goto(page.url)   # a fresh start: focus at the top of the document
    _tab_to(page, lambda f: f["name"] == "BRTHYR")
    page.keyboard.type("2016")
    _tab_to(page, lambda f: f["name"] == "BRTHMO")
    page.keyboard.type("5")
    f = _tab_to(page, lambda f: f["name"] == "SEX")
    if f["type"] == "radio":                # arrow keys move within the group: Female
        page.keyboard.press("Space")
        page.keyboard.press("ArrowDown")
    else:
        page.keyboard.type("F")
    _tab_to(page, lambda f: f["name"] == "WEIGHT")
    page.keyboard.type("abc")
    _tab_to(page, lambda f: f["name"] == "HEIGHT")
    page.keyboard.type("118")
    with page.expect_navigation():
        page.keyboard.press("Enter")       # Enter in a field saves ("Save")
    page.wait_for_load_state("load")
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]

    # focus on the error summary; errors linked to their fields
    f = _focus(page)
    assert f and (f["id"] == "form-errors" or f["name"] == "WEIGHT"), \
        f"after a failed save the focus is on {f}"
    _assert_focus_visible(f, {})
    shots(page, "keyboard-failed-save")
    w = page.locator("#WEIGHT")
    assert w.get_attribute("aria-invalid") == "true"
    ids = (w.get_attribute("aria-describedby") or "").split()
    texts = [page.locator(f"[id='{i}']").inner_text() for i in ids]
    assert any("number" in t.lower() for t in texts), (ids, texts)
    assert page.locator("#HEIGHT").get_attribute("aria-invalid") is None
    # the summary's link to the field moves the focus there
    f = _tab_to(page, lambda f: f["tag"] == "A" and f["id"] == "" and
                "#WEIGHT" in (page.evaluate("document.activeElement.getAttribute('href')")
                              or ""), limit=20)
    page.keyboard.press("Enter")
    f = _focus(page)
    assert f and f["name"] == "WEIGHT", f"the summary's link led the focus to {f}"
    page.keyboard.press("Control+A")
    page.keyboard.type("22.5")
    # save and mark complete: Tab to the primary button, press Space
    f = _tab_to(page, lambda f: f["tag"] == "BUTTON" and "primary" in f["cls"], limit=200)
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert "/records/" in page.url, page.url
    shots(page, "keyboard-saved")
    from edc.crf.models import FormRecord
    with app.app_context():
        rec = _db.session.scalars(select(FormRecord).where(FormRecord.form_oid == "DM")).one()
        assert rec.status == "complete"
        assert rec.values["WEIGHT"] in ("22.5", 22.5) or str(rec.values["WEIGHT"]) == "22.5"
        assert rec.values["SEX"] == "F" and rec.values["BRTHMO"] == 5
        _db.session.remove()
