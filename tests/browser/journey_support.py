"""Helpers of the browser journeys (tests/browser/test_journey_*.py): filling eCRFs by
their input names, seeding what a journey does not itself enter (through the services,
as the other tests do), and the geometric right-to-left checks of the Arabic pages."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

from helpers import PASSWORD, email_for
from playwright.sync_api import expect

from edc.extensions import db as _db

#: a journey's clinical dates are relative to today (the forms refuse future dates)
TODAY = date.today()


# ------------------------------------------------------------------ filling eCRFs
FILL_JS = """([values]) => {
  const form = document.getElementById("crf-form");
  for (const [name, value] of values) {
    const els = Array.from(form.querySelectorAll(`[name="${name}"]`));
    if (!els.length) throw new Error("no input named " + name);
    if (els.some(e => e.disabled)) throw new Error(name + " is not enabled");
    const first = els[0];
    let target = first;
    if (Array.isArray(value)) {
      for (const code of value) {
        const box = els.find(e => e.value === code);
        if (!box) throw new Error(name + " has no option " + code);
        box.checked = true;
        target = box;
      }
    } else if (first.type === "radio") {
      target = els.find(e => e.value === value);
      if (!target) throw new Error(name + " has no option " + value);
      target.checked = true;
    } else if (first.tagName === "SELECT") {
      if (!Array.from(first.options).some(o => o.value === value))
        throw new Error(name + " has no option " + value);
      first.value = value;
    } else {
      first.focus();
      first.value = value;
    }
    target.dispatchEvent(new Event("input", {bubbles: true}));
    target.dispatchEvent(new Event("change", {bubbles: true}));
  }
}"""


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, list) else str(value)


def fill(page, values: dict, *, typing: bool = False) -> None:
    """Enter ``values`` (item name → input text, True/False, or a list of codes) into the
    eCRF on the page, in order. Conditional items must come after the items they depend
    on: an input hidden (and so disabled) by the form's skip logic cannot be filled.

    By default the values are set in the page, each followed by the ``input`` and
    ``change`` events the form's script listens to (one round trip per form: the machine
    running CI is small); ``typing=True`` clicks and types each one through Playwright,
    as a user would."""
    if not typing:
        page.evaluate(FILL_JS, [[[k, _text(v)] for k, v in values.items()]])
        return
    kinds = page.eval_on_selector_all(
        "#crf-form [name]",
        "els => Object.fromEntries(els.map(e => [e.name, e.tagName === 'SELECT' ? 'select'"
        " : (e.type || 'text')]))")
    for name, value in values.items():
        sel = f'#crf-form [name="{name}"]'
        value = _text(value)
        kind = kinds.get(name)
        if kind is None:
            raise AssertionError(f"no input named {name} on {page.url}")
        if isinstance(value, list):
            for code in value:
                page.check(f'{sel}[value="{code}"]')
        elif kind == "radio":
            page.check(f'{sel}[value="{value}"]')
        elif kind == "select":
            page.select_option(sel, value)
        else:
            page.fill(sel, value)


def submit(page, selector: str) -> None:
    """Click a submit button and wait for the next page."""
    with page.expect_navigation():
        page.click(selector)


def save_complete(page, *, expect_ok: bool = True) -> None:
    submit(page, '#crf-form button[name="action"][value="complete"]')
    if expect_ok:
        assert_flash(page, "success")


def assert_flash(page, kind: str) -> None:
    flashes = page.locator("main .flash")
    if page.locator(f"main .flash.{kind}").count() == 0:
        texts = flashes.all_inner_texts()
        errors = page.locator("#form-errors").all_inner_texts()
        raise AssertionError(f"expected a {kind} message on {page.url}: {texts} {errors}")


def record_id(page) -> int:
    """The id of the record whose page is open (…/records/<id>)."""
    return int(page.url.split("/records/")[1].split("?")[0].split("#")[0].split("/")[0])


# ------------------------------------------------------------------ services (seeding)
@contextmanager
def services(app):
    """An application context for seeding through the services, cleaned up after."""
    with app.app_context():
        try:
            yield
        finally:
            _db.session.remove()


def user(role, site):
    from edc.auth.services import get_user_by_email
    return get_user_by_email(email_for(role, site))


def actor(role, site):
    from edc.audit.services import Actor
    return Actor.of(user(role, site), "test")


def patient(pid):
    from sqlalchemy import select

    from edc.patients.models import Patient
    return _db.session.scalars(select(Patient).where(Patient.pseudonym == pid)).one()


def save(pid, visit, oid, values, *, site="ES01", role="investigator"):
    """Save one complete record as the site's investigator; returns its id."""
    from edc.crf import services as crf
    raw = {k: ("true" if v is True else "false" if v is False else v)
           for k, v in values.items()}
    out = crf.save(actor(role, site), patient(pid), visit, oid, record_id=None,
                   row_version=None, raw=raw, raw_missing={}, complete=True, reason=None)
    assert out.saved and not out.result.queries, (oid, out.result.errors,
                                                  out.result.form_errors,
                                                  out.result.queries)
    return out.record.id


def raise_query(pid, rid, item, text, *, site="ES01"):
    from edc.crf.models import FormRecord
    from edc.queries import services as q
    rec = _db.session.get(FormRecord, rid)
    return q.raise_query(actor("monitor", site), patient(pid), rec, item, text).id


def answer_query(pid, qid, text, *, site="ES01"):
    from edc.queries import services as q
    from edc.queries.models import Query
    q.transition(actor("investigator", site), patient(pid), _db.session.get(Query, qid),
                 "answer", text)


def sign_visit(pid, visit, *, site="ES01"):
    from edc.signing import services as signing
    signing.sign(actor("investigator", site), patient(pid), visit, PASSWORD)


# ------------------------------------------------------------------ trial data
def screening_values(registered: date, birth_year: int, *, weight="20.7",
                     height="116.0", sex="F", lang="es") -> dict[str, dict]:
    """IC, DM and ELIG of an eligible child registered (and consented) on ``registered``."""
    return {
        "IC": {"RFICDAT": registered.isoformat(), "ICVER": "2.1 of 2025-09-12",
               "ICLANG": lang, "ICSIGNER": "mother", "ICWITN": False, "ASNTAPPL": False},
        "DM": {"BRTHYR": str(birth_year), "SEX": sex, "WEIGHT": weight, "HEIGHT": height},
        "ELIG": {"IEDAT": (registered + timedelta(days=1)).isoformat(),
                 "PSSCALE": "lansky", "PSSCORE": "80",
                 **{k: True for k in ("INCD19", "INAGE", "INPERF", "INRENAL", "INHEPAT",
                                      "INCARD", "INPULM", "INLIFEX", "INCONS")},
                 **{k: False for k in ("EXCNS3", "EXINFECT", "EXGVHD", "EXHCT",
                                       "EXPRCART", "EXPREG", "EXVIRAL", "EXBURK",
                                       "EXCNSDIS")},
                 "IEYN": True},
    }


def apheresis_values(aph: date, release: date, product_id: str) -> dict:
    return {"APHDAT": aph.isoformat(), "APHALC": "1.20", "APHCD3": "800",
            "APHPRODID": product_id, "MFGOUT": "released",
            "MFGRELDT": release.isoformat()}


def register_seeded(app, site, *, birth_year=2019, sex="F", days=60):
    """A patient registered ``days`` ago through the service; returns the pseudonym."""
    from edc.patients import services as patients
    from edc.sites.services import get_by_code
    with services(app):
        p = patients.register(get_by_code(site), actor("investigator", site),
                              birth_year=birth_year, sex=sex,
                              registered_on=TODAY - timedelta(days=days))
        return p.pseudonym


def seed_screening(app, pid, site, *, birth_year=2019, days=60) -> dict[str, int]:
    """Complete IC, DM and ELIG and the apheresis form; returns form OID → record id."""
    reg = TODAY - timedelta(days=days)
    ids = {}
    with services(app):
        for oid, values in screening_values(reg, birth_year).items():
            ids[oid] = save(pid, "SCR", oid, values, site=site)
        ids["APH"] = save(pid, "APH", "APH", apheresis_values(
            reg + timedelta(days=3), reg + timedelta(days=20), f"MLN-{site}-0001-A"),
            site=site)
    return ids


# ------------------------------------------------------------------ right-to-left layout
CHAR_XS = """el => {
  const xs = [];
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walk.nextNode())) {
    for (let i = 0; i < node.length; i++) {
      if (!node.data[i].trim()) continue;
      const r = document.createRange();
      r.setStart(node, i); r.setEnd(node, i + 1);
      xs.push([node.data[i], r.getBoundingClientRect().x]);
    }
  }
  return xs;
}"""


def assert_reads_left_to_right(locator, text: str | None = None) -> None:
    """The element's computed direction is ltr and its characters are laid out left to
    right in their logical order (x increases with each character)."""
    el = locator.first
    assert el.evaluate("e => getComputedStyle(e).direction") == "ltr", el.inner_html()
    xs = el.evaluate(CHAR_XS)
    chars = "".join(c for c, _x in xs)
    if text is not None:
        assert chars == text.replace(" ", ""), (chars, text)
    positions = [x for _c, x in xs]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), xs


def assert_nav_starts_right(page) -> None:
    """The top bar runs right to left: the brand sits at the right edge and the first
    navigation item starts right of the others, near the right edge."""
    width = page.viewport_size["width"]
    brand = page.locator(".topbar .brand").bounding_box()
    items = [b for b in (li.bounding_box() for li in page.locator("nav .nav > li").all())
             if b]
    first = items[0]
    assert brand["x"] + brand["width"] > width - 40, (brand, width)
    assert first["x"] + first["width"] > width * 0.6, (first, width)
    same_row = [b for b in items[1:] if abs(b["y"] - first["y"]) < 4]
    assert same_row and all(b["x"] < first["x"] for b in same_row), (first, same_row)


def assert_labels_right_of_inputs(page, names: list[str]) -> None:
    """Each item's label box lies right of its input box (an RTL form)."""
    for name in names:
        label = page.locator(f'label[for="{name}"]').bounding_box()
        box = page.locator(f'#{name}').bounding_box()
        assert label and box, name
        assert label["x"] >= box["x"] + box["width"] - 1, (name, label, box)


def assert_rtl_page(page) -> None:
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert_nav_starts_right(page)
