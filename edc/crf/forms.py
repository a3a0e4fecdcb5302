"""Build a WTForms class from a form definition, in the user's language.

The classes render the fields; validation is the engine's (edc/crf/engine.py), and CSRF
is checked for every POST by CSRFProtect.
"""
from __future__ import annotations

from flask_babel import gettext as _
from wtforms import Form, HiddenField, RadioField, SelectField, SelectMultipleField, \
    StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from .definitions import MISSING_CODES, FormDef, ItemDef
from .values import N_

MISSING_LABELS = {
    "ND": N_("Not done"),
    "NA": N_("Not applicable"),
    "UNK": N_("Unknown"),
    "ASKU": N_("Asked but unknown"),
}


def missing_label(code: str) -> str:
    return _(MISSING_LABELS[code]) if code in MISSING_LABELS else code


class _Multi(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # validation is the engine's
        pass


class _Radio(RadioField):
    def pre_validate(self, form):
        pass


class _Select(SelectField):
    def pre_validate(self, form):
        pass


class _Decimal(StringField):
    """A decimal shown with the language's decimal sign ("1,000" in Italian and Spanish);
    the engine accepts either sign back (i18n_digits.normalise_number)."""

    def _value(self):
        from ..i18n import show_number
        return show_number(self.data) if self.data not in (None, "") else ""


def _field(item: ItemDef):
    label = _(item.label)

    if item.type == "text":
        if item.max_length > 200:
            return TextAreaField(label, render_kw={"maxlength": item.max_length, "rows": 3})
        return StringField(label, render_kw={"maxlength": item.max_length})
    if item.type in ("integer", "decimal"):
        return (_Decimal if item.type == "decimal" else StringField)(label, render_kw={
            "inputmode": "numeric" if item.type == "integer" else "decimal",
            "dir": "ltr", "autocomplete": "off", "class": "num"})
    if item.type == "date":
        return StringField(label, render_kw={"type": "date", "dir": "ltr"})
    if item.type == "datetime":
        return StringField(label, render_kw={"type": "datetime-local", "dir": "ltr"})
    if item.type == "boolean":
        return _Radio(label, choices=[SelectChoice("true", _("Yes")),
                                      SelectChoice("false", _("No"))])
    choices = [SelectChoice(c.code, _(c.label)) for c in item.codelist]
    if item.type == "multichoice":
        return _Multi(label, choices=choices)
    if len(choices) <= 5:
        return _Radio(label, choices=choices)
    return _Select(label, choices=[SelectChoice("", "—")] + choices)


def form_class(form: FormDef) -> type[Form]:
    """The WTForms class of a definition in the current language (built once per
    definition and language: a class holds no request state)."""
    from flask_babel import get_locale
    key = (form.oid, form.version, form.content_hash, str(get_locale()))
    cls = _CLASSES.get(key)
    if cls is None:
        if len(_CLASSES) > 512:
            _CLASSES.clear()
        cls = _CLASSES[key] = _form_class(form)
    return cls


_CLASSES: dict[tuple, type[Form]] = {}


def _form_class(form: FormDef) -> type[Form]:
    attrs = {}
    for item in form.entered:
        attrs[item.name] = _field(item)
        if item.missing:
            attrs[f"{item.name}__mc"] = _Select(
                _("Missing-data code"),
                choices=[SelectChoice("", "—")] +
                        [SelectChoice(c, missing_label(c)) for c in MISSING_CODES])
            attrs[f"{item.name}__mr"] = StringField(_("Reason the value is missing"),
                                                    render_kw={"maxlength": 500})
    attrs["row_version"] = HiddenField()
    attrs["reason"] = TextAreaField(_("Reason for change"), render_kw={"maxlength": 1000,
                                                                       "rows": 2})
    return type(f"{form.oid}Form", (Form,), attrs)


def raw_inputs(form: FormDef, formdata) -> tuple[dict, dict]:
    """The submitted values and missing-data codes of the definition's items only."""
    raw, missing = {}, {}
    for item in form.entered:
        if item.type == "multichoice":
            raw[item.name] = formdata.getlist(item.name)
        else:
            vals = formdata.getlist(item.name)
            raw[item.name] = vals if len(vals) > 1 else (vals[0] if vals else None)
        code = formdata.get(f"{item.name}__mc")
        if code:
            missing[item.name] = (code, formdata.get(f"{item.name}__mr", ""))
    return raw, missing
