"""Build a WTForms class from a form definition, in the user's language.

The classes render the fields; validation is the engine's (edc/crf/engine.py), and CSRF
is checked for every POST by CSRFProtect.
"""
from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import Form, HiddenField, RadioField, SelectField, SelectMultipleField, \
    StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.widgets.core import clean_key

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


# ---------------------------------------------------------------- fast widgets
# The eCRF pages render every field of a form (with its missing-data code and reason):
# WTForms' generic widgets spent ~60 % of such a page's CPU (html_params builds each
# attribute with Markup.format; options look up their render signature each time). These
# widgets write the same HTML, byte for byte (tests/crf/test_fast_widgets.py compares them
# with WTForms' own widgets on every form of the catalog), for the fields built here:
# no validators (so no validation flags become attributes), plain string choices.

def _params(kwargs: dict) -> str:
    """wtforms.widgets.html_params: sorted attributes, True bare, False left out."""
    out = []
    for k, v in sorted(kwargs.items()):
        k = clean_key(k)
        if v is True:
            out.append(k)
        elif v is not False:
            out.append(f'{k}="{escape(v)}"')
    return " ".join(out)


class _FastInput:
    """TextInput / HiddenInput: ``<input … value="field._value()">``."""

    def __init__(self, input_type: str):
        self.input_type = input_type

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        kwargs["name"] = field.name
        return Markup(f"<input {_params(kwargs)}>")  # nosec B704 — values escaped


class _FastTextArea:
    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs["name"] = field.name
        return Markup(f"<textarea {_params(kwargs)}>\r\n{escape(field._value())}"  # nosec B704
                      f"</textarea>")


def _choice_parts(choices) -> list[tuple[str, str, str]]:
    """(value, escaped value, escaped label) of each choice, computed once per class."""
    return [(c.value, str(escape(c.value)), str(escape(c.label or c.value)))
            for c in choices]


class _FastSelect:
    """Select (one value): ``<option selected value="…">`` for the field's data."""

    def __init__(self, choices):
        self.parts = _choice_parts(choices)

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs["name"] = field.name
        data = field.data
        html = [f"<select {_params(kwargs)}>"]
        for value, ev, label in self.parts:
            sel = "selected " if value == data else ""
            html.append(f'<option {sel}value="{ev}">{label}</option>')
        html.append("</select>")
        return Markup("".join(html))  # nosec B704 — built of escaped values and labels


class _FastChoiceList:
    """ListWidget(prefix_label=False) of radio buttons or checkboxes: the list takes the
    call's attributes; each input has the id ``<field id>-<i>`` and its label after it."""

    def __init__(self, input_type: str, choices, multiple: bool):
        self.input_type, self.multiple = input_type, multiple
        self.parts = _choice_parts(choices)

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        data = field.data
        if self.multiple:
            data = data or ()
        fid, name, kind = escape(field.id), escape(field.name), self.input_type
        html = [f"<ul {_params(kwargs)}>"]
        for i, (value, ev, label) in enumerate(self.parts):
            chk = "checked " if (value in data if self.multiple else value == data) \
                else ""
            html.append(f'<li><input {chk}id="{fid}-{i}" name="{name}" type="{kind}" '
                        f'value="{ev}"> <label for="{fid}-{i}">{label}</label></li>')
        html.append("</ul>")
        return Markup("".join(html))  # nosec B704 — built of escaped values and labels


_TEXT = _FastInput("text")
_HIDDEN = _FastInput("hidden")
_TEXTAREA = _FastTextArea()


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


def _radio(label, choices):
    return _Radio(label, choices=choices,
                  widget=_FastChoiceList("radio", choices, multiple=False))


def _select(label, choices):
    return _Select(label, choices=choices, widget=_FastSelect(choices))


def _field(item: ItemDef):
    label = _(item.label)

    if item.type == "text":
        if item.max_length > 200:
            return TextAreaField(label, render_kw={"maxlength": item.max_length, "rows": 3},
                                 widget=_TEXTAREA)
        return StringField(label, render_kw={"maxlength": item.max_length}, widget=_TEXT)
    if item.type in ("integer", "decimal"):
        return (_Decimal if item.type == "decimal" else StringField)(label, render_kw={
            "inputmode": "numeric" if item.type == "integer" else "decimal",
            "dir": "ltr", "autocomplete": "off", "class": "num"}, widget=_TEXT)
    if item.type == "date":
        return StringField(label, render_kw={"type": "date", "dir": "ltr"}, widget=_TEXT)
    if item.type == "datetime":
        return StringField(label, render_kw={"type": "datetime-local", "dir": "ltr"},
                           widget=_TEXT)
    if item.type == "boolean":
        return _radio(label, [SelectChoice("true", _("Yes")), SelectChoice("false", _("No"))])
    choices = [SelectChoice(c.code, _(c.label)) for c in item.codelist]
    if item.type == "multichoice":
        return _Multi(label, choices=choices,
                      widget=_FastChoiceList("checkbox", choices, multiple=True))
    if len(choices) <= 5:
        return _radio(label, choices)
    return _select(label, [SelectChoice("", "—")] + choices)


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
            attrs[f"{item.name}__mc"] = _select(
                _("Missing-data code"),
                [SelectChoice("", "—")] +
                [SelectChoice(c, missing_label(c)) for c in MISSING_CODES])
            attrs[f"{item.name}__mr"] = StringField(_("Reason the value is missing"),
                                                    render_kw={"maxlength": 500},
                                                    widget=_TEXT)
    attrs["row_version"] = HiddenField(widget=_HIDDEN)
    attrs["reason"] = TextAreaField(_("Reason for change"), render_kw={"maxlength": 1000,
                                                                       "rows": 2},
                                    widget=_TEXTAREA)
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
        # `in` first: MultiDict.get of an absent key raises and catches an HTTPException
        # (BadRequestKeyError) — for each item of each save
        mc = f"{item.name}__mc"
        code = formdata.get(mc) if mc in formdata else None
        if code:
            missing[item.name] = (code, formdata.get(f"{item.name}__mr", ""))
    return raw, missing
