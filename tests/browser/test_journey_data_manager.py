"""Journey 4: a data manager locks a patient, an investigator's save is refused while the
lock holds (the page says why), and the data manager unlocks with a reason — in English
and in Arabic. The patient's data are seeded through the services."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from helpers import email_for
from playwright.sync_api import expect

from browser.journey_support import (
    assert_flash, assert_labels_right_of_inputs, assert_reads_left_to_right,
    assert_rtl_page, register_seeded, seed_screening, submit)
from edc.signing.locks import LOCKED_PATIENT


def translated(app, lang, msg) -> str:
    with app.test_request_context(), force_locale(lang):
        return str(msg)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_data_manager_journey(app, world, new_page, browser_login, shots, lang):
    pid = register_seeded(app, "ES01")
    ids = seed_screening(app, pid, "ES01")
    form_url = f"/patients/{pid}/records/{ids['DM']}"

    # an investigator has the demographics open and starts a correction
    inv = new_page(lang)
    browser_login(inv, email_for("investigator", "ES01"))
    inv.goto(form_url)
    inv.fill("#WEIGHT", "21.4")
    inv.fill("#reason", "Weight transcribed from the wrong day.")

    # the data manager locks the patient
    dm = new_page(lang)
    browser_login(dm, email_for("data_manager", "ES01"))
    dm.click('nav a[href="/patients/"]')
    dm.click(f'a[href="/patients/{pid}"]')
    dm.fill("#lock-reason", "Query resolution review before the interim analysis.")
    if lang == "ar":
        assert_rtl_page(dm)
        assert_labels_right_of_inputs(dm, ["lock-reason"])
        assert_reads_left_to_right(dm.locator("h1 .pid"), pid)
    submit(dm, "#lock-patient button")
    assert_flash(dm, "success")
    expect(dm.locator(".lock-banner.lock-patient")).to_be_visible()
    if lang == "ar":   # the English reason keeps its direction inside the Arabic banner
        assert_reads_left_to_right(dm.locator(".lock-banner bdi"),
                                   "Query resolution review before the interim analysis.")
    shots(dm, "locked")

    # the investigator's save is refused, with the reason on the page
    with inv.expect_navigation() as nav:
        inv.click('#crf-form button[name="action"][value="save"]')
    assert nav.value.status == 409
    expect(inv.locator("main")).to_contain_text(translated(app, lang, LOCKED_PATIENT))
    shots(inv, "save-refused")
    inv.goto(form_url)
    expect(inv.locator(".lock-banner.lock-patient")).to_be_visible()
    expect(inv.locator("#WEIGHT")).to_be_disabled()
    expect(inv.locator("#WEIGHT")).to_have_value("20.7")
    expect(inv.locator('#crf-form button[type="submit"]')).to_have_count(0)
    shots(inv, "form-locked")

    # the data manager unlocks, with a reason
    dm.fill(".lock-banner form.unlock input[name=reason]",
            "Review done; the site may correct the weight.")
    submit(dm, ".lock-banner form.unlock button")
    assert_flash(dm, "success")
    expect(dm.locator(".lock-banner")).to_have_count(0)
    shots(dm, "unlocked")

    # and the correction goes through
    inv.goto(form_url)
    inv.fill("#WEIGHT", "21.4")
    inv.fill("#reason", "Weight transcribed from the wrong day.")
    submit(inv, '#crf-form button[name="action"][value="complete"]')
    assert_flash(inv, "success")
    expect(inv.locator("#WEIGHT")).to_have_value("21.4")
    shots(inv, "corrected")
