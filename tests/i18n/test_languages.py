import re
from datetime import datetime, timezone

import pytest
from helpers import post

from edc.translations import catalogue_problems, untranslated_in_pot


def test_catalogues_complete_no_empty_or_fuzzy():
    assert catalogue_problems() == []


def test_catalogues_up_to_date_with_template():
    assert untranslated_in_pot() == []


def test_template_is_up_to_date(tmp_path, monkeypatch):
    """messages.pot holds every msgid of the code, templates and forms (run extract)."""
    from babel.messages.pofile import read_po

    import edc.translations as tr
    with open(tr.POT, "rb") as fh:
        committed = {m.id for m in read_po(fh) if m.id}
    monkeypatch.setattr(tr, "POT", tmp_path / "fresh.pot")
    tr.extract()
    with open(tmp_path / "fresh.pot", "rb") as fh:
        fresh = {m.id for m in read_po(fh) if m.id}
    assert fresh - committed == set(), "run: flask --app edc translate extract && update"


def test_placeholders_survive_translation():
    from babel.messages.pofile import read_po

    from edc.translations import TRANSLATIONS
    ph = re.compile(r"%\(\w+\)[sd]")
    for lang in ("ar", "es", "it"):
        with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            for m in read_po(fh):
                if m.id and isinstance(m.id, str):
                    assert sorted(ph.findall(m.id)) == sorted(ph.findall(m.string)), \
                        (lang, m.id)


def test_arabic_pages_are_rtl(client, world):
    html = client.get("/auth/login", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "تسجيل الدخول" in html or "الدخول" in html


@pytest.mark.parametrize("lang,word", [("es", "Contraseña"), ("it", "Password"),
                                       ("en", "Password")])
def test_accept_language(client, lang, word):
    html = client.get("/auth/login", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert f'<html lang="{lang}" dir="ltr">' in html
    assert word in html


def test_switcher_and_saved_choice_win_over_browser(app, logged_in):
    c = logged_in("investigator")
    r = post(c, "/language", {"lang": "ar", "next": "/patients/"})
    assert r.status_code == 302 and r.headers["Location"] == "/patients/"
    html = c.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'dir="rtl"' in html
    # the choice is saved on the user: a new session gets it too
    from helpers import login
    c2 = app.test_client()
    login(c2, "investigator.es01@test.example.org")
    assert 'lang="ar"' in c2.get("/", headers={"Accept-Language": "it"}).get_data(
        as_text=True)


def test_unknown_language_refused(logged_in):
    assert post(logged_in("investigator"), "/language", {"lang": "xx"}).status_code == 400


def test_error_pages_translated(logged_in):
    c = logged_in("investigator")
    post(c, "/language", {"lang": "es"})
    r = c.get("/patients/ES01-9999-Z")
    assert r.status_code == 404
    assert 'lang="es"' in r.get_data(as_text=True)
    assert "Page not found" not in r.get_data(as_text=True)


def test_times_stored_utc_shown_in_site_zone(app):
    from edc.i18n import site_time

    class Site:
        timezone = "Asia/Beirut"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        shown = site_time(datetime(2026, 7, 1, 9, 30, tzinfo=timezone.utc), Site())
    assert "12:30" in shown  # Beirut is UTC+3 in summer
    assert "EEST" in shown or "+03" in shown


def test_arabic_indic_digits_normalised():
    from edc.i18n_digits import normalise_number
    assert normalise_number("٣٨٫٥") == "38.5"
    assert normalise_number("38,5") == "38.5"
    assert normalise_number(" ۱۲ ") == "12"
