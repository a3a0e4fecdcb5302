"""Arabic shaping, line wrapping and bidi reordering for PDF text. Pure: no Flask.

The order of the work matters for right-to-left text:

1. the *logical* text (as stored and translated) is wrapped into lines with reportlab's
   ``stringWidth`` at the width of the paragraph or table cell — each word measured as
   it will be drawn, i.e. shaped;
2. each laid-out line is then shaped (Arabic letters joined: presentation forms) and
   reordered (:func:`edc.reports.bidi.visual`) on its own.

So the first words of a multi-line Arabic paragraph are on its first line, right-aligned,
and the lines read from top to bottom — reordering a whole paragraph and then cutting it
into lines would put its *last* words on the first line.

Spans that must stay left to right inside Arabic text (pseudonyms, numbers with their
units, dates, codes) are wrapped in an isolate with :func:`ltr`; text typed by users gets
:func:`auto` (its own direction, from its first strong letter). An isolate is never
broken across lines unless it is wider than the line on its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import arabic_reshaper
from reportlab.pdfbase.pdfmetrics import stringWidth

from .bidi import CONTROLS, FSI, LRI, PDI, RLI, base_level, visual

ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_OPEN = (LRI, RLI, FSI)

# Lam-alef ligatures are mandatory in Arabic; other ligatures (e.g. ALLAH, U+FDF2) are
# not in DejaVu Sans. Vowel marks (harakat) are kept: they are part of the text.
_LAM_ALEF = {"ARABIC LIGATURE LAM WITH ALEF", "ARABIC LIGATURE LAM WITH ALEF WITH HAMZA ABOVE",
             "ARABIC LIGATURE LAM WITH ALEF WITH HAMZA BELOW",
             "ARABIC LIGATURE LAM WITH ALEF WITH MADDA ABOVE"}
_config = {"delete_harakat": False, "support_ligatures": True}
_config.update({k: k in _LAM_ALEF
                for k in arabic_reshaper.reshaper_config.default_config
                if k.startswith("ARABIC LIGATURE") or k == "RIAL SIGN"})
_reshaper = arabic_reshaper.ArabicReshaper(configuration=_config)


def ltr(value) -> str:
    """A span that stays left to right inside right-to-left text (ID, number, date)."""
    s = "" if value is None else str(value)
    return f"{LRI}{s}{PDI}" if s else s


def auto(value) -> str:
    """A span in its own direction (text typed by a user), isolated from its context."""
    s = "" if value is None else str(value)
    return f"{FSI}{s}{PDI}" if s else s


def strip_controls(text: str) -> str:
    return CONTROLS.sub("", text)


@lru_cache(maxsize=65536)
def shape(text: str) -> str:
    """Join Arabic letters (contextual presentation forms); other text is unchanged."""
    return _reshaper.reshape(text) if ARABIC.search(text) else text


@lru_cache(maxsize=65536)
def word_width(word: str, font: str, size: float) -> float:
    return stringWidth(strip_controls(shape(word)), font, size)


def clean(text: str) -> str:
    """Tabs and other line breaks become spaces or newlines (one glyph stream per line)."""
    return (text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
            .replace("\u2028", "\n").replace("\u2029", "\n"))


def words(line: str) -> list[str]:
    """Split one hard line at spaces, keeping each isolate (ltr/auto span) whole."""
    out, cur, depth = [], [], 0
    for ch in line:
        if ch in _OPEN:
            depth += 1
        elif ch == PDI and depth:
            depth -= 1
        if ch == " " and depth == 0:
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _break_word(word: str, width: float, font: str, size: float) -> list[str]:
    """Cut a word wider than the line into pieces, keeping an enclosing isolate on each:
    at the spaces inside an isolate first (a date and its time), then between letters."""
    opener = closer = ""
    inner = word
    if len(word) >= 2 and word[0] in _OPEN and word[-1] == PDI:
        opener, closer, inner = word[0], PDI, word[1:-1]
    inner = strip_controls(inner)

    def fits(text):
        return word_width(f"{opener}{text}{closer}", font, size) <= width
    pieces: list[str] = []
    cur = ""
    for part in inner.split(" "):
        cand = f"{cur} {part}" if cur else part
        if fits(cand):
            cur = cand
            continue
        if cur:
            pieces.append(cur)
        cur = ""
        if fits(part):
            cur = part
            continue
        for ch in part:  # a single part still too wide: between letters
            if cur and not fits(cur + ch):
                pieces.append(cur)
                cur = ch
            else:
                cur += ch
    if cur:
        pieces.append(cur)
    return [f"{opener}{p}{closer}" for p in pieces] or [word]


def wrap(text: str, width: float, font: str, size: float) -> list[str]:
    """The logical text cut into logical lines that fit ``width`` once shaped."""
    lines: list[str] = []
    space = stringWidth(" ", font, size)
    for hard in clean(text).split("\n"):
        cur: list[str] = []
        cur_w = 0.0
        for w in words(hard):
            ww = word_width(w, font, size)
            if cur and cur_w + space + ww <= width:
                cur.append(w)
                cur_w += space + ww
                continue
            if cur:
                lines.append(" ".join(cur))
                cur, cur_w = [], 0.0
            if ww <= width:
                cur, cur_w = [w], ww
            else:
                pieces = _break_word(w, width, font, size)
                lines.extend(pieces[:-1])
                cur, cur_w = [pieces[-1]], word_width(pieces[-1], font, size)
        lines.append(" ".join(cur))
    return lines


@dataclass(frozen=True)
class Line:
    logical: str   # as wrapped (logical order, with isolates)
    text: str      # visual order, shaped, without formatting characters: what is drawn
    width: float


def paragraph_base(text: str, direction: str) -> int:
    """The paragraph's base level: ``rtl`` 1, ``ltr`` 0, ``auto`` its first strong letter."""
    if direction == "rtl":
        return 1
    if direction == "ltr":
        return 0
    return base_level(text)


@lru_cache(maxsize=32768)
def layout(text: str, width: float, font: str, size: float,
           direction: str) -> tuple[Line, ...]:
    """Wrap, then shape and reorder each laid-out line (see the module docstring).

    Cached: labels, codes and headers repeat on every page of a casebook."""
    base = paragraph_base(text, direction)
    out = []
    for logical in wrap(text, width, font, size):
        drawn = visual(shape(logical), base)
        out.append(Line(logical, drawn, stringWidth(drawn, font, size)))
    return tuple(out)
