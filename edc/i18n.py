"""Locale and time-zone selection, text direction, and input digit normalisation."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from babel.numbers import get_decimal_symbol

from .i18n_digits import local_decimal, normalise_number, to_ascii_digits  # noqa: F401

RTL_LANGUAGES = {"ar"}
LANGUAGE_NAMES = {"en": "English", "es": "Español", "it": "Italiano", "ar": "العربية"}


def select_locale() -> str:
    """The user's saved choice, then the session's (before log-in), then Accept-Language."""
    langs = current_app.config["LANGUAGES"]
    forced = g.get("force_locale")
    if forced in langs:
        return forced
    if not has_request_context():  # command line: English unless forced
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    if session.get("lang") in langs:
        return session["lang"]
    return request.accept_languages.best_match(langs) or \
        current_app.config["BABEL_DEFAULT_LOCALE"]


def request_gettext() -> dict:
    """The templates' ``gettext`` and ``ngettext`` (what ``_()`` and ``ngettext()`` call:
    Jinja's newstyle i18n functions, which Flask-Babel installs with a lambda looking the
    translations up through its request context on every call) bound once to this
    render's translations. Same catalogue, same autoescaping and %-formatting as
    jinja2.ext's newstyle functions; main_views registers them for every template."""
    from flask_babel import get_translations
    t = get_translations()
    one, many = t.ugettext, t.ungettext

    @pass_eval_context
    def gettext(eval_ctx, __string, **variables):
        rv = one(__string)
        if eval_ctx.autoescape:
            rv = Markup(rv)  # nosec B704 — our catalogue's text, as jinja2.ext marks it
        if not variables and "%" not in rv:
            return rv   # what "% {}" gives: no placeholder, nothing to format
        return rv % variables   # always a format string, as in jinja2.ext

    @pass_eval_context
    def ngettext(eval_ctx, __singular, __plural, __num, **variables):
        variables.setdefault("num", __num)
        rv = many(__singular, __plural, __num)
        if eval_ctx.autoescape:
            rv = Markup(rv)  # nosec B704 — our catalogue's text, as jinja2.ext marks it
        return rv % variables
    return {"gettext": gettext, "ngettext": ngettext}


def request_tr():
    """The template global ``tr`` (web.py: a definition text translated, without
    %-formatting; "" for none) bound once to this request's translations. The global looks
    the translations up through Flask-Babel's request context on every call; a page with a
    hundred labels passes this one as ``tr`` instead. Same catalogue, same texts."""
    from flask_babel import get_translations
    lookup = get_translations().ugettext
    return lambda text: lookup(text) if text else ""


def select_timezone() -> str:
    site = g.get("site") if has_request_context() else None
    return site.timezone if site is not None else "UTC"


def text_direction(locale: str | None = None) -> str:
    loc = str(locale or get_locale() or "en")
    return "rtl" if loc.split("_")[0] in RTL_LANGUAGES else "ltr"


def site_time(dt: datetime | None, site=None, fmt: str = "medium") -> str:
    """A UTC timestamp shown in the site's time zone (default: the current site)."""
    if dt is None:
        return ""
    site = site or g.get("site")
    tz = ZoneInfo(site.timezone) if site is not None else timezone.utc
    local = dt.astimezone(tz)
    # rebase=False: ``local`` is already in the site's zone (Flask-Babel would otherwise
    # convert it again, from UTC to the request's zone)
    return f"{format_datetime(local.replace(tzinfo=None), fmt, rebase=False)} " \
        f"({local.tzname()})"


def show_date(d: date | str | None) -> str:
    if d is None or d == "":
        return ""
    if isinstance(d, str):
        d = date.fromisoformat(d)
    if type(d) is not date:  # a datetime: Flask-Babel moves it to the user's zone first
        return format_date(d, "medium")
    # A calendar date reads the same for everyone of a language: each (date, language) is
    # formatted once per app (a list of patients shows dozens, each costing a Babel
    # pattern lookup and format).
    cache = current_app.extensions.setdefault("edc_date_text", {})
    key = (d, str(get_locale()))
    text = cache.get(key)
    if text is None:
        if len(cache) > 20000:
            cache.clear()
        text = cache[key] = format_date(d, "medium")
    return text


#: per translations catalogue (Flask-Babel keeps one per language for the life of the
#: app, and builds a new one if it ever reloads): texts derived from it, kept with it
_PER_CATALOGUE: WeakKeyDictionary = WeakKeyDictionary()


def request_show_date():
    """:func:`show_date` bound to this request's language and the app's formatted dates,
    for a page that shows dozens of dates (a list of patients, a timeline)."""
    cache = current_app.extensions.setdefault("edc_date_text", {})
    locale = str(get_locale())

    def show(d):
        if type(d) is date:
            text = cache.get((d, locale))
            if text is not None:
                return text
        return show_date(d)
    return show


def per_language(key, build):
    """``build(translations)`` computed once per language's catalogue and kept with it
    (e.g. a dict of translated status names that every page shows)."""
    from flask_babel import get_translations
    t = get_translations()
    try:
        kept = _PER_CATALOGUE[t]
    except KeyError:
        kept = _PER_CATALOGUE[t] = {}
    except TypeError:  # not weak-referenceable: nothing to keep it with
        return build(t)
    if key not in kept:
        kept[key] = build(t)
    return kept[key]


def kept_html(key: str, macro, *args):
    """What ``macro(*args)`` writes, when that depends on the language only (the status
    legend, the icons' sprite): written once per language and kept (per_language). The
    macro's own comment says so; ``key`` names the macro and its arguments."""
    return per_language(("html", key) + args, lambda t: macro(*args))


def translated(labels: dict) -> dict:
    """``{key: lazy label}`` (a module's constant, e.g. patients.services.STATUS_LABELS)
    translated once per language, printed as the template prints a lazy label (its text,
    as markup): a list of patients reads each row's status from here instead of
    translating it again."""
    def as_printed():
        # a lazy label prints as markup (LazyString.__html__): our catalogue's text
        return {k: Markup(str(v)) for k, v in labels.items()}  # nosec B704
    kept_for, text = per_language(("lazy", id(labels)), lambda t: (labels, as_printed()))
    return text if kept_for is labels else as_printed()


def show_number(value) -> str:
    """A stored decimal shown with the current language's decimal sign (see
    ``i18n_digits.local_decimal``); inputs accept either sign (``normalise_number``)."""
    return local_decimal(str(value), _decimal_sign(str(get_locale() or "en")))


@lru_cache(maxsize=64)
def _decimal_sign(locale: str) -> str:
    """The language's decimal sign (CLDR data: the same for the life of the process)."""
    return get_decimal_symbol(locale, numbering_system="latn")
