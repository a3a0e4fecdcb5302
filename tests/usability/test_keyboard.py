"""Keyboard flow on eCRF pages: Save is the default button, the shortcut is announced,
the leave warning knows about unsaved entries, and errors are linked to their fields."""
import re

from helpers import post, register_patient

from edc import REPO_ROOT


def submit_buttons(html):
    form = html.split('id="crf-form"', 1)[1].split("</form>", 1)[0]
    return re.findall(r"<button[^>]*>", form)


def test_save_is_the_default_button_and_shortcut_is_shown(app, logged_in, world):
    pid = register_patient(app)
    html = logged_in("investigator").get(f"/patients/{pid}/forms/SCR/DM").get_data(
        as_text=True)
    buttons = submit_buttons(html)
    # implicit submission (Enter in a field) uses the first submit button: Save
    assert 'value="save"' in buttons[0] and 'aria-keyshortcuts="Control+S Meta+S"' in \
        buttons[0]
    assert any('value="complete"' in b for b in buttons[1:])
    assert 'id="save-hint"' in html and "Ctrl+S" in html
    assert 'data-unsaved="0"' in html
    assert "js/crf.js" in html


def test_errors_linked_to_fields_and_unsaved_entries_flagged(app, logged_in, world):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM",
             {"BRTHYR": "2016", "SEX": "F", "WEIGHT": "abc", "action": "save"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    inp = re.search(r'<input[^>]*id="WEIGHT"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in inp and 'aria-describedby="WEIGHT-err"' in inp
    assert 'id="WEIGHT-err"' in html and 'href="#WEIGHT"' in html
    assert 'data-unsaved="1"' in html  # leaving this page would lose the entries


def test_grouped_errors_linked(app, logged_in, world):
    pid = register_patient(app)
    c = logged_in("investigator")
    r = post(c, f"/patients/{pid}/forms/SCR/DM",
             {"BRTHYR": "2016", "SEX": "X", "action": "save"})
    html = r.get_data(as_text=True)
    if r.status_code != 422 or 'id="SEX-err"' not in html:
        raise AssertionError("expected an error on SEX")
    grp = re.search(r'<div class="control" role="radiogroup"[^>]*aria-labelledby="SEX-label"'
                    r'[^>]*>', html).group(0)
    assert 'aria-describedby="SEX-err"' in grp and 'aria-invalid="true"' in grp
    assert 'href="#SEX-0"' in html


def test_crf_js_shortcut_and_leave_warning():
    js = (REPO_ROOT / "edc/static/js/crf.js").read_text()
    assert 'ev.code === "KeyS"' in js           # any keyboard layout, Arabic included
    assert "requestSubmit(saveButton)" in js   # the Save button, never "mark complete"
    assert "snapshot(form) === initial" in js  # only when something changed
    assert 'addEventListener("submit", function () { submitting = true; })' in js
