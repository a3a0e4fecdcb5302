"""Journey 2: a monitor at IT01 opens the dashboard, verifies a form against source (SDV),
raises a query, closes an answered one and sees the investigator's signature — in English
and in Arabic. The site's data, the signature and the answered query are seeded through
the services (they are the investigator's steps, tested in journey 1)."""
from __future__ import annotations

import pytest
from helpers import email_for
from playwright.sync_api import expect

from browser.journey_support import (
    answer_query, assert_labels_right_of_inputs, assert_reads_left_to_right,
    assert_rtl_page, raise_query, register_seeded, seed_screening, services, sign_visit,
    submit)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_monitor_journey(app, world, new_page, browser_login, shots, lang):
    pid = register_seeded(app, "IT01")
    ids = seed_screening(app, pid, "IT01")
    with services(app):
        sign_visit(pid, "APH", site="IT01")
        qid = raise_query(pid, ids["DM"], "WEIGHT",
                          "Weight differs from the nursing chart: please check.",
                          site="IT01")
        answer_query(pid, qid, "Re-weighed: 20.7 kg is correct.", site="IT01")

    page = new_page(lang)
    browser_login(page, email_for("monitor", "IT01"))

    # the dashboard of the site
    page.click('nav a[href="/monitoring/"]')
    board = page.locator("#site-IT01")
    expect(board).to_be_visible()
    expect(board.locator(f'a[href="/patients/{pid}"]').first).to_be_visible()
    if lang == "ar":
        assert_rtl_page(page)
        assert_reads_left_to_right(board.locator(".pid").first, pid)
    shots(page, "dashboard")

    # the patient, from the dashboard: the investigator's signature of the apheresis visit
    board.locator(f'a[href="/patients/{pid}"]').first.click()
    page.wait_for_load_state()
    signature = page.locator("#visit-APH .signature.valid")
    expect(signature).to_be_visible()
    expect(signature).to_contain_text("Investigator IT01")
    shots(page, "signature")

    # the demographics form: verify it against source
    page.goto(f"/patients/{pid}/records/{ids['DM']}")
    submit(page, "#sdv-whole button")
    expect(page.locator(".sdv-state .badge.ok")).to_be_visible()
    shots(page, "verified")

    # raise a query on the height
    page.select_option("#raise-item", "HEIGHT")
    page.fill("#raise-text", "Height not found in the source document of the screening day.")
    if lang == "ar":
        assert_labels_right_of_inputs(page, ["raise-item", "raise-text"])
    submit(page, "#raise-query button")
    expect(page.locator("#f-HEIGHT .query-marker.query-open")).to_be_visible()
    shots(page, "query-raised")

    # close the answered query on the weight
    page.fill(f"#q{qid}-close", "Thank you, confirmed in the source.")
    submit(page, f'#query-{qid} form[action$="/close"] button')
    expect(page.locator(f"#query-{qid}")).to_have_class("card query query-closed")
    expect(page.locator("#f-WEIGHT .query-marker")).to_have_count(0)
    if lang == "ar":
        assert_rtl_page(page)
        assert_reads_left_to_right(page.locator(".crumbs .pid"), pid)
        # people's messages keep their own direction: the English question ends with its
        # full stop on the right, not at the start of the Arabic line
        assert_reads_left_to_right(
            page.locator(f"#query-{qid} .thread .msg bdi").first,
            "Weight differs from the nursing chart: please check.")
    shots(page, "query-closed")
