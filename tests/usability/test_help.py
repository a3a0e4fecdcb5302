"""In-app help: one YAML source, per role, in the four languages, linked from the menu."""
import re

import pytest
from helpers import login, post
from mon_support import grant

from edc import access
from edc.help import LINK_PERMISSIONS, load

ROLES = ("investigator", "coordinator", "monitor", "data_manager", "statistician", "admin")


def test_every_role_has_help_and_every_link_is_known(app):
    h = load()
    assert set(h.roles) == set(access.ROLES)
    with app.test_request_context():
        from flask import url_for
        for sections in [h.common, *h.roles.values()]:
            assert sections
            for sec in sections:
                for lk in sec.links:
                    assert lk.endpoint in LINK_PERMISSIONS, lk.endpoint
                    assert url_for(lk.endpoint).startswith("/")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_help(logged_in, role):
    c = logged_in(role)
    home = c.get("/").get_data(as_text=True)
    assert 'href="/help/"' in home
    html = c.get("/help/").get_data(as_text=True)
    assert f'id="role-{role}"' in html
    others = set(re.findall(r'<section class="help-role" id="role-(\w+)"', html))
    assert others == {role, "common"}
    assert 'id="help-legend"' in html  # the status icons legend is part of the help


def test_safety_officer_help(app, world):
    email = grant(app, "safety", "ES01", email="safety@test.example.org")
    c = app.test_client()
    assert login(c, email).status_code == 302
    html = c.get("/help/").get_data(as_text=True)
    assert 'id="role-safety"' in html and 'href="/alerts/"' in html


def test_other_roles_help_and_links_only_to_allowed_pages(logged_in):
    c = logged_in("statistician")
    html = c.get("/help/monitor").get_data(as_text=True)
    assert 'id="role-monitor"' in html and 'id="role-statistician"' not in html
    # a statistician may not open the dashboard: its help is shown, without the link
    assert 'href="/monitoring/"' not in html
    own = c.get("/help/statistician").get_data(as_text=True)
    assert 'href="/exports/"' in own
    assert c.get("/help/nobody").status_code == 404
    inv = logged_in("investigator").get("/help/").get_data(as_text=True)
    assert 'href="/patients/register"' in inv and 'href="/' in inv


def test_help_in_the_four_languages(logged_in):
    c = logged_in("investigator")
    seen = set()
    for lang in ("es", "it", "ar"):
        post(c, "/language", {"lang": lang})
        html = c.get("/help/").get_data(as_text=True)
        assert "What you can do" not in html and "Enter a form" not in html, lang
        title = re.search(r'<h3 id="s-investigator-1-h">([^<]+)</h3>', html).group(1)
        seen.add(title)
    assert len(seen) == 3


def _help_msgids():
    h = load()
    ids = set()
    for sections in [h.common, *h.roles.values()]:
        for sec in sections:
            ids |= {sec.title, *sec.steps, *(lk.label for lk in sec.links)}
            if sec.text:
                ids.add(sec.text)
    return ids


def test_every_help_msgid_extracted_and_translated():
    from babel.messages.pofile import read_po

    from edc.translations import POT, TRANSLATIONS
    ids = _help_msgids()
    with open(POT, "rb") as fh:
        pot = {m.id for m in read_po(fh)}
    assert ids - pot == set(), "run: flask --app edc translate extract"
    for lang in ("ar", "es", "it"):
        with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            cat = read_po(fh, locale=lang)
        for msgid in ids:
            m = cat.get(msgid)
            assert m is not None and m.string and not m.fuzzy, (lang, msgid)
            if len(msgid) > 25:
                assert m.string != msgid, (lang, msgid)


def test_extractor_reads_titles_texts_labels_and_steps():
    import io

    from edc.crf.babel_extract import extract_help
    src = b"""roles:
  x:
    sections:
      - title: T
        text: A paragraph
        steps: [One, Two]
        links: [{endpoint: main.home, label: L}]
"""
    got = [m for _, _, m, _ in extract_help(io.BytesIO(src), None, None, None)]
    assert sorted(got) == ["A paragraph", "L", "One", "T", "Two"]


def test_help_needs_login(client, world):
    r = client.get("/help/")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
