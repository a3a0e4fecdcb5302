"""Journey 1: an investigator at ES01 takes a 6-year-old from registration to the signed
infusion visit, in each of the four languages, in headless Chromium.

Everything the investigator does happens in the browser: registration, screening and
consent, demographics, enrolment, apheresis, lymphodepletion, three infusion fractions,
a CRS day whose ASTCT grade is computed live while signs are entered, an ICANS day where
the form switches to the CAPD for a young child, the day-28 response, answering a query
and signing the visit. Only the monitor's query is raised through the service. One
screenshot per step (full-page shots of the tall patient page cost about a second each on
a small CI machine, so the intermediate pages are not photographed).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import email_for
from playwright.sync_api import expect

from browser.journey_support import (
    TODAY, apheresis_values, assert_labels_right_of_inputs, assert_reads_left_to_right,
    assert_rtl_page, fill, raise_query, record_id, save_complete, screening_values,
    services, submit)
from edc.clinical.measures import age_years

REGISTERED = TODAY - timedelta(days=60)
D0 = REGISTERED + timedelta(days=28)
CRS_DAY = D0 + timedelta(days=2)
ICANS_DAY = D0 + timedelta(days=3)
PRODUCT = "MLN-ES01-0001-A"


def birth_year_for(age: int, on) -> int:
    """A year of birth (month unknown) that makes the child ``age`` on ``on``."""
    for year in range(on.year - age - 1, on.year - age + 1):
        if age_years(birth_year=year, on_date=on) == age \
                and age_years(birth_year=year, on_date=REGISTERED) == age:
            return year
    raise AssertionError("no birth year gives that age at consent and at the ICANS day")


BIRTH_YEAR = birth_year_for(6, ICANS_DAY)


def ld_values():
    return {"BRIDGYN": True,
            "BRIDGAG": "Vincristine, dexamethasone and intrathecal methotrexate",
            "LDSTDAT": (D0 - timedelta(days=6)).isoformat(), "LDEGFR": "120",
            "LDBSA": "0.82", "LDFLUDOS": "30", "LDFLUSDY": "-6", "LDFLUEDY": "-3",
            "LDFLUNDY": "4", "LDFLUD1": "30", "LDFLUD2": "30", "LDFLUD3": "30",
            "LDFLUD4": "30", "LDCYDOS": "500", "LDCYSDY": "-6", "LDCYEDY": "-5",
            "LDCYNDY": "2", "LDCYD1": "500", "LDCYD2": "500", "LDMOD": False}


def ex_values(n: int):
    pct = ("10", "30", "60")[n - 1]
    day = (D0 + timedelta(days=n - 1)).isoformat()
    hour = 8 + n
    dose = f"{int(pct) / 100:.3f}"
    return {"EXFRNUM": str(n), "EXPLPCT": pct, "EXPLDOSE": dose, "EXSTAT": "given",
            "EXBAGID": PRODUCT, "EXVIAB": "92.5", "EXWT": "20.7", "EXDOSE": dose,
            "EXSTDAT": day, "EXSTDTC": f"{day}T{hour:02d}:00",
            "EXENDTC": f"{day}T{hour:02d}:20", "EXPMPARA": True, "EXPMAH": True,
            "EXPMSTER": False, "EXIRYN": False}


def new_form(page, pid, visit, oid):
    page.goto(f"/patients/{pid}/forms/{visit}/{oid}")
    expect(page.locator("#crf-form")).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ar", "it", "es"])
def test_investigator_journey(app, world, new_page, browser_login, shots, lang):
    page = new_page(lang)
    browser_login(page, email_for("investigator", "ES01"))
    shots(page, "home")
    if lang == "ar":
        assert_rtl_page(page)

    # register a patient through the registration form
    page.click('nav a[href="/patients/register"]')
    page.fill("#birth_year", str(BIRTH_YEAR))
    page.select_option("#sex", "F")
    page.fill("#registered_on", REGISTERED.isoformat())
    page.fill("#full_name", "Lucía Fernández Ortega")
    page.fill("#mrn", "HC-99887766")
    if lang == "ar":
        assert_labels_right_of_inputs(page, ["birth_year", "registered_on", "mrn"])
    shots(page, "register")
    submit(page, "main form button[type=submit]")
    pid = page.locator("h1 .pid").inner_text()
    assert pid.startswith("ES01-0001-"), pid
    if lang == "ar":
        assert_reads_left_to_right(page.locator("h1 .pid"), pid)

    # screening: consent, demographics, eligibility (the first through the timeline link)
    screening = screening_values(REGISTERED, BIRTH_YEAR)
    page.click(f'#visit-SCR a.add[href$="/forms/SCR/IC"]')
    fill(page, screening["IC"])
    shots(page, "consent")
    save_complete(page)
    for oid in ("DM", "ELIG"):
        new_form(page, pid, "SCR", oid)
        fill(page, screening[oid])
        if oid == "DM":
            expect(page.locator("#AGE")).to_have_text("6")   # derived live
            if lang == "ar":
                assert_labels_right_of_inputs(page, ["BRTHYR", "WEIGHT", "HEIGHT"])
                assert_reads_left_to_right(page.locator("#WEIGHT"))
        save_complete(page)

    # enrolment (screening complete and eligible)
    page.goto(f"/patients/{pid}")
    submit(page, 'form[action$="/enrol"] button')

    # apheresis, lymphodepletion and three CAR-T fractions
    new_form(page, pid, "APH", "APH")
    fill(page, apheresis_values(REGISTERED + timedelta(days=3),
                                REGISTERED + timedelta(days=20), PRODUCT))
    save_complete(page)
    new_form(page, pid, "LD", "LD")
    fill(page, ld_values())
    expect(page.locator("#LDFLUCUM")).to_have_text("120")
    save_complete(page)
    ex_ids = []
    for n in (1, 2, 3):
        new_form(page, pid, "D0", "EX")
        fill(page, ex_values(n))
        if n == 3:
            shots(page, "infusion-3")
        save_complete(page)
        ex_ids.append(record_id(page))

    # a CRS day: the ASTCT grade follows the signs live, before saving
    new_form(page, pid, "ACUTE", "CRS")
    grade = page.locator("#CRSGRADE")
    fill(page, {"CRSDAT": CRS_DAY.isoformat(), "CRSTMAX": "38.6", "CRSFEVOC": False,
                "CRSMASK": False, "CRSHYPO": False, "CRSO2DEV": "none"}, typing=True)
    expect(grade).to_have_text("1")                     # fever only
    shots(page, "crs-grade1")
    fill(page, {"CRSHYPO": True}, typing=True)
    expect(grade).to_have_text("2")                     # + hypotension without vasopressor
    fill(page, {"CRSO2DEV": "high_flow_nasal_cannula", "CRSO2FLW": "10"}, typing=True)
    expect(grade).to_have_text("3")                     # + high-flow oxygen
    shots(page, "crs-grade3")
    fill(page, {"CRSSPO2": "93", "CRSFIO2": "40", "CRSDTH": False, "CRSICU": True,
                "CRSGRINV": "3", "CRSTOCI": True, "CRSTOCDS": "12", "CRSTOCN": "1",
                "CRSCS": False, "CRSACYT": False, "CRSCRP": "150.0", "CRSFERR": "2500"})
    save_complete(page)
    expect(page.locator("#CRSGRADE")).to_have_text("3")

    # an ICANS day of the 6-year-old: the form offers the CAPD instead of the ICE score
    new_form(page, pid, "ACUTE", "ICANS")
    fill(page, {"ICANDAT": ICANS_DAY.isoformat(), "ICANDD": False, "ICANSED": False},
         typing=True)
    expect(page.locator("#ICANAGE")).to_have_text("6")
    expect(page.locator("#f-CAPD1")).to_be_visible()
    expect(page.locator("#f-CAPD8")).to_be_visible()
    expect(page.locator("#f-ICEYEAR")).to_be_hidden()
    shots(page, "icans-capd")
    capd = [1, 1, 0, 1, 1, 0, 1, 0]
    fill(page, {f"CAPD{i}": str(v) for i, v in enumerate(capd, start=1)})
    fill(page, {"ICANLOC": "spontaneous", "ICANSZ": "none", "ICANEEG": False,
                "ICANMOT": False, "ICANIMG": False, "ICANICP": False, "ICANDTH": False,
                "ICANGINV": "1", "ICANCS": False, "ICANANK": False, "ICANAED": False})
    expect(page.locator("#CAPDTOT")).to_have_text("5")
    expect(page.locator("#ICANSGRADE")).to_have_text("1")
    if lang == "ar":
        assert_labels_right_of_inputs(page, ["ICANDAT", "CAPD1", "ICANGINV"])
    save_complete(page)

    # the day-28 response
    new_form(page, pid, "D28", "RS")
    fill(page, {"RSDAT": (D0 + timedelta(days=28)).isoformat(), "RSBMBLST": "1.5",
                "RSMRD": "0", "RSMRDLOD": "0.01", "RSMRDMTH": "flow", "RSANC": "1.80",
                "RSPLAT": "150", "RSCSF": "CNS1", "RSEMSTAT": "none", "RSRESP": "CR"})
    save_complete(page)
    shots(page, "response-d28")

    # the monitor's query on the first fraction (raised through the service) is answered
    with services(app):
        raise_query(pid, ex_ids[0], "EXVIAB",
                    "Please confirm the viability against the certificate of analysis.")
    page.click('nav a[href="/queries/"]')
    page.click("table.queries a[href^='/queries/']")
    page.fill("#text-answer", "Checked: 92.5 % on the certificate of analysis, bag 1.")
    submit(page, 'form[action$="/answer"] button')
    expect(page.locator("#query-state")).to_have_class("status status-answered")
    shots(page, "query-answered")

    # sign the infusion visit: password again (no second factor enrolled)
    page.goto(f"/patients/{pid}")
    page.click('#visit-D0 a.sign')
    page.fill("#password", world.password)
    submit(page, "#sign-form button[type=submit]")
    expect(page.locator("#visit-D0 .signature.valid")).to_be_visible()
    if lang == "ar":
        assert_rtl_page(page)
        assert_reads_left_to_right(page.locator("h1 .pid"), pid)
        # a summary value with a Latin unit reads left to right: "1.000 ×10⁶ CAR+ cells/kg"
        assert_reads_left_to_right(page.locator(".summary dd bdi", has_text="CAR+"))
    shots(page, "signed")
