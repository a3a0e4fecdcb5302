"""Texts of the definitions in the four languages of the trial, from the catalogues.

Exports hold every label in Arabic, English, Spanish and Italian at once, whatever the
language of the person exporting: the catalogues are read directly (no request locale).
"""
from __future__ import annotations

from babel.support import NullTranslations, Translations

LANGS = ("ar", "en", "es", "it")


class Texts:
    def __init__(self, directory: str | None):
        self._t: dict[str, NullTranslations] = {}
        for lang in LANGS:
            self._t[lang] = Translations.load(directory, [lang]) if directory else \
                NullTranslations()

    def get(self, msgid: str | None, lang: str, params: dict | None = None) -> str:
        if not msgid:
            return ""
        text = self._t[lang].gettext(msgid)
        return text % params if params else text

    def all(self, msgid: str | None, params: dict | None = None) -> dict[str, str]:
        return {lang: self.get(msgid, lang, params) for lang in LANGS}


def from_app(app) -> Texts:
    dirs = app.config.get("BABEL_TRANSLATION_DIRECTORIES") or ""
    return Texts(dirs.split(";")[0] if dirs else None)
