"""The eCRF fields' fast widgets (edc/crf/forms.py) write exactly the HTML of WTForms' own
widgets, for every field of every form of the catalog, in every language, blank, with
entered values (also values needing escaping, and codes not in the list), and with the
attributes the eCRF template passes (disabled, id, aria-*)."""
from __future__ import annotations

import random

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import widgets

from edc.crf import catalog as cat
from edc.crf.forms import form_class

STOCK = {  # the widgets WTForms itself gives these field classes
    "StringField": widgets.TextInput(),
    "_Decimal": widgets.TextInput(),
    "TextAreaField": widgets.TextArea(),
    "HiddenField": widgets.HiddenInput(),
    "_Select": widgets.Select(),
    "_Radio": widgets.ListWidget(prefix_label=False),
    "_Multi": widgets.ListWidget(prefix_label=False),
}
CALLS = [{}, {"disabled": True}, {"disabled": False},
         {"id": "X", "disabled": False, "aria_invalid": "true", "aria_describedby": "X-err"},
         {"id": "Y", "disabled": True}]
AWKWARD = ['a "quoted" <b>&amp;</b>', "it's", "38,5", "١٢٫٥", "", "  ", "\u00a0x", "–"]


def _formdata(form, rng: random.Random, mode: str) -> MultiDict:
    data = MultiDict()
    if mode == "blank":
        return data
    for item in form.entered:
        codes = [c.code for c in item.codelist] or ["true", "false"]
        if item.type == "multichoice":
            for c in rng.sample(codes, rng.randint(0, len(codes))):
                data.add(item.name, c)
            if mode == "awkward":
                data.add(item.name, rng.choice(AWKWARD))
        elif item.type in ("choice", "boolean"):
            data[item.name] = rng.choice(codes + (AWKWARD if mode == "awkward" else []))
        else:
            data[item.name] = rng.choice(AWKWARD) if mode == "awkward" else str(
                rng.randint(0, 500) / 10)
        if item.missing and rng.random() < 0.4:
            data[f"{item.name}__mc"] = rng.choice(["ND", "NA", "UNK", "ASKU", "", "bogus"])
            data[f"{item.name}__mr"] = rng.choice(AWKWARD)
    data["row_version"] = str(rng.randint(1, 9))
    data["reason"] = rng.choice(AWKWARD)
    return data


@pytest.mark.no_database
@pytest.mark.parametrize("lang", ["en", "ar", "it", "es"])
def test_fast_widgets_write_what_wtforms_writes(app, lang):
    rng = random.Random(lang)
    checked = 0
    with app.test_request_context(), force_locale(lang):
        for form in cat.catalog().forms.values():
            cls = form_class(form)
            for mode in ("blank", "values", "values", "awkward", "awkward"):
                wtf = cls(_formdata(form, rng, mode))
                for field in wtf:
                    stock = STOCK[type(field).__name__]
                    assert field.widget is not stock
                    for kw in CALLS:
                        fast = field(**kw)
                        field.widget, saved = stock, field.widget
                        try:
                            want = field(**kw)
                        finally:
                            field.widget = saved
                        assert str(fast) == str(want), (form.oid, field.name, mode, kw)
                        checked += 1
    assert checked > 5000
