"""What every printed record shares: its language, page frame and generation time."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..errors import ServiceError
from ..i18n import text_direction
from .display import utc_text
from .pdf import Ctx, PageFrame
from .textlayout import ltr


def check_language(lang: str | None) -> str:
    langs = current_app.config["LANGUAGES"]
    if lang not in langs:
        from flask_babel import lazy_gettext as _l
        raise ServiceError(_l("Unknown language %(lang)s (one of %(langs)s)."),
                           lang=lang, langs=", ".join(langs))
    return lang


@contextmanager
def document(lang: str) -> Iterator[Ctx]:
    """Build inside this: texts are translated into ``lang`` and laid out for it."""
    lang = check_language(lang)
    with force_locale(lang):
        yield Ctx(lang, text_direction(lang) == "rtl")


def page_frame(title: str, subject: str, generated_at: datetime, *,
               watermark: str | None = None, watermark_note: str | None = None) -> PageFrame:
    return PageFrame(
        title=title, subject=subject,
        generated=_("Generated %(at)s", at=utc_text(generated_at)),
        page_label=lambda n, total: _("Page %(page)s of %(pages)s", page=ltr(n),
                                      pages=ltr(total)),
        watermark=watermark, watermark_note=watermark_note)
