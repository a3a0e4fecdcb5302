"""The reportlab building blocks of every printed record: fonts, text that knows its
direction, tables that mirror for right-to-left languages, and a page frame (header,
"page X of Y", generation time, watermark) drawn once the page count is known."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Flowable, Frame, PageBreak,
                                PageTemplate, Spacer, Table, TableStyle)

from .textlayout import Line, layout

FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
PAGE = A4
MARGIN = 15 * mm
HEADER = 17 * mm       # band above the frame
FOOTER = 10 * mm

INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#4a5561")
LINE = colors.HexColor("#9aa5b1")
SHADE = colors.HexColor("#e8edf2")
SHADE2 = colors.HexColor("#f5f7f9")
WARN = colors.HexColor("#8a5a00")
BAD = colors.HexColor("#b3261e")
OK = colors.HexColor("#17663a")

_registered = False


def register_fonts() -> None:
    """DejaVu Sans (Latin, accents, Arabic) shipped in edc/static/fonts/, once."""
    global _registered
    if _registered:
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    _registered = True


@dataclass(frozen=True)
class Style:
    font: str = FONT
    size: float = 9
    leading: float = 11.5
    color: object = INK
    space_before: float = 0
    space_after: float = 0


STYLES = {
    "title": Style(BOLD, 18, 23, space_after=6),
    "h1": Style(BOLD, 14, 18, space_before=4, space_after=4),
    "h2": Style(BOLD, 11, 14, space_before=8, space_after=3),
    "h3": Style(BOLD, 9.5, 12, space_before=6, space_after=2),
    "body": Style(FONT, 9, 11.5, space_after=2),
    "small": Style(FONT, 7.5, 9.5, MUTED),
    "cell": Style(FONT, 8, 10),
    "cellb": Style(BOLD, 8, 10),
    "cells": Style(FONT, 7, 8.8, MUTED),
    "warn": Style(BOLD, 9, 11.5, BAD, space_after=2),
}


class Text(Flowable):
    """A paragraph of plain text: wrapped at its width, then each line shaped and put in
    visual order (:func:`edc.reports.textlayout.layout`), aligned to the reading start.

    ``direction``: ``rtl``/``ltr`` (interface text in the document's language) or
    ``auto`` (data typed by users: from its first strong letter). ``align``: ``start``,
    ``end``, ``center``, ``left`` or ``right``; start is the right edge in a
    right-to-left document.
    """

    def __init__(self, text: str, style: Style, *, rtl: bool, direction: str | None = None,
                 align: str = "start", link: str | None = None,
                 _lines: tuple[Line, ...] | None = None, _width: float | None = None):
        super().__init__()
        self.text = text or ""
        self.style = style
        self.rtl = rtl
        self.direction = direction or ("rtl" if rtl else "ltr")
        self.align = align
        self.link = link
        self._lines = _lines
        self._laid_width = _width
        self.spaceBefore = style.space_before
        self.spaceAfter = style.space_after

    def _layout(self, width: float) -> tuple[Line, ...]:
        if self._lines is None or self._laid_width != width:
            self._lines = layout(self.text, max(width, 1), self.style.font, self.style.size,
                                 self.direction)
            self._laid_width = width
        return self._lines

    def wrap(self, aw, ah):
        lines = self._layout(aw)
        self.width = aw
        self.height = max(1, len(lines)) * self.style.leading
        return aw, self.height

    def split(self, aw, ah):
        lines = self._layout(aw)
        # asked because it does not fit: at most all lines but one on this page
        fit = min(int((ah + 0.01) // self.style.leading), len(lines) - 1)
        if fit <= 0:
            return []
        first = Text("", self.style, rtl=self.rtl, direction=self.direction,
                     align=self.align, _lines=lines[:fit], _width=aw)
        first.spaceAfter = 0
        rest = Text("\n".join(ln.logical for ln in lines[fit:]), self.style, rtl=self.rtl,
                    direction=self.direction, align=self.align, _lines=lines[fit:],
                    _width=aw)
        rest.spaceBefore = 0
        return [first, rest]

    def _x(self, w: float) -> float:
        align = self.align
        if align == "start":
            align = "right" if self.rtl else "left"
        elif align == "end":
            align = "left" if self.rtl else "right"
        if align == "right":
            return self.width - w
        if align == "center":
            return (self.width - w) / 2
        return 0

    def draw(self):
        c = self.canv
        st = self.style
        c.setFont(st.font, st.size)
        c.setFillColor(st.color)
        top = self.height
        for i, line in enumerate(self._lines or []):
            baseline = top - (i + 1) * st.leading + (st.leading - st.size) / 2 + 0.2 * st.size
            x = self._x(line.width)
            c.drawString(x, baseline, line.text)
            if self.link:
                c.linkRect("", self.link, (x, baseline - 2, x + line.width,
                                           baseline + st.size), relative=1)

    @property
    def lines(self) -> list[str]:
        """The drawn (visual) lines, after a wrap."""
        return [ln.text for ln in self._lines or []]


class Anchor(Flowable):
    """Zero-size marker: records the page it lands on; adds a bookmark and an outline
    entry (drawn once the page count is known, see :class:`PagedCanvas`)."""

    def __init__(self, key: str, pages: dict, title: str | None = None, level: int = 0):
        super().__init__()
        self.key, self.pages, self.title, self.level = key, pages, title, level
        self.width = self.height = 0

    def wrap(self, aw, ah):
        return 0, 0

    def draw(self):
        self.pages[self.key] = self.canv.getPageNumber()
        if self.title is not None and hasattr(self.canv, "defer_bookmark"):
            self.canv.defer_bookmark(self.key, self.title, self.level)


class PagedCanvas(Canvas):
    """Holds each finished page until the end, then draws the page frame (header with
    "page X of Y", watermark) on every page and writes them out.

    Memory is one document's pages, never more: a site's casebooks are built one at a
    time. Bookmarks are added when the pages are written, so they point at the right page.
    """

    def __init__(self, *args, decorate: Callable[[Canvas, int, int], None], **kw):
        super().__init__(*args, **kw)
        self._decorate = decorate
        self._held: list[dict] = []
        self._bookmarks: list[tuple[str, str, int]] = []
        self.page_count = 0

    def defer_bookmark(self, key: str, title: str, level: int) -> None:
        self._bookmarks.append((key, title, level))

    def showPage(self):
        self._held.append(dict(self.__dict__, _bookmarks=list(self._bookmarks)))
        self._bookmarks = []
        self._startPage()

    def save(self):
        held, self._held = self._held, []
        total = len(held)
        for number, state in enumerate(held, 1):
            self.__dict__.update(state)
            for key, title, level in self._bookmarks:
                self.bookmarkPage(key)
                self.addOutlineEntry(title, key, level=level)
            self._decorate(self, number, total)
            Canvas.showPage(self)
            held[number - 1] = None  # free the page as soon as it is written
        self._held = []
        self.page_count = total
        Canvas.save(self)


@dataclass
class PageFrame:
    """What the page frame shows on every page (already translated, logical order)."""

    title: str
    subject: str = ""            # e.g. pseudonym · site
    generated: str = ""          # e.g. Generated 2026-03-10 14:05 UTC
    page_label: Callable[[int, int], str] = lambda n, total: f"{n} / {total}"
    watermark: str | None = None
    watermark_note: str | None = None


class Ctx:
    """One document being built: its language direction and helpers for its flowables."""

    def __init__(self, lang: str, rtl: bool):
        register_fonts()
        self.lang = lang
        self.rtl = rtl
        self.width = PAGE[0] - 2 * MARGIN

    def p(self, text, style: str = "body", *, direction: str | None = None,
          align: str = "start", link: str | None = None, color=None) -> Text:
        st = STYLES[style]
        if color is not None:
            st = replace(st, color=color)
        return Text("" if text is None else str(text), st, rtl=self.rtl,
                    direction=direction, align=align, link=link)

    def data(self, text, style: str = "cell") -> Text:
        """Text typed by users: its own direction, aligned like the document."""
        return self.p(text, style, direction="auto")

    def cell(self, value, style: str = "cell") -> Flowable | list:
        if isinstance(value, (Flowable, list)):
            return value
        return self.p("" if value is None else value, style)

    def table(self, rows: list[list], widths: list[float], *, header: int = 1,
              commands: list | None = None, shade_header: bool = True) -> Table:
        """A table whose first column is at the reading start (right in Arabic).

        ``widths`` are fractions of the frame width; ``commands`` are TableStyle commands
        in logical column numbers (mirrored here for right-to-left)."""
        n = len(widths)
        cols = [w * self.width for w in widths]
        data = [[self.cell(v) for v in row] for row in rows]
        cmds = [("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, LINE),
                ("BOX", (0, 0), (-1, -1), 0.5, LINE)]
        if header and shade_header:
            cmds.append(("BACKGROUND", (0, 0), (-1, header - 1), SHADE))
        cmds += list(commands or [])
        if self.rtl:
            data = [row[::-1] for row in data]
            cols = cols[::-1]
            for c in cmds:  # a span shows its first cell: now the mirrored last one
                if c[0] == "SPAN":
                    (c0, r0), (c1, r1) = c[1], c[2]
                    c0, c1 = c0 % n, c1 % n
                    for r in range(r0 % len(data), r1 % len(data) + 1):
                        a, b = n - 1 - c1, n - 1 - c0
                        data[r][a], data[r][b] = data[r][b], data[r][a]
            cmds = [_mirror(c, n) for c in cmds]
        t = Table(data, colWidths=cols, repeatRows=header, hAlign="RIGHT" if self.rtl
                  else "LEFT", splitInRow=1)
        t.setStyle(TableStyle(cmds))
        return t

    def facts(self, pairs: list[tuple[str, object]], label_width: float = 0.3) -> Table:
        """Label: value rows without a header."""
        rows = [[self.p(k, "cellb"), self.cell(v)] for k, v in pairs]
        return self.table(rows, [label_width, 1 - label_width], header=0,
                          commands=[("LINEBELOW", (0, 0), (-1, -1), 0.25, SHADE)])

    def space(self, h: float = 6) -> Spacer:
        return Spacer(1, h)

    def keep_room(self, h: float = 90) -> CondPageBreak:
        return CondPageBreak(h)

    def page_break(self) -> PageBreak:
        return PageBreak()


def _mirror(cmd, n):
    name, (c0, r0), (c1, r1), *rest = cmd

    def m(c):
        c = c if c >= 0 else n + c
        return n - 1 - c
    a, b = m(c0), m(c1)
    return (name, (min(a, b), r0), (max(a, b), r1), *rest)


def _draw_line(c: Canvas, text: str, style: Style, x0: float, x1: float, y: float,
               align: str, rtl: bool) -> None:
    lines = layout(text, 10_000, style.font, style.size, "rtl" if rtl else "ltr")
    if not lines:
        return
    ln = lines[0]
    c.setFont(style.font, style.size)
    c.setFillColor(style.color)
    if align == "start":
        align = "right" if rtl else "left"
    elif align == "end":
        align = "left" if rtl else "right"
    x = x1 - ln.width if align == "right" else (x0 + x1 - ln.width) / 2 if \
        align == "center" else x0
    c.drawString(x, y, ln.text)


def make_decorator(frame: PageFrame, rtl: bool):
    """The page frame of every page: header, page X of Y, generation time, watermark."""
    head = STYLES["cellb"]
    small = STYLES["small"]

    def decorate(c: Canvas, number: int, total: int) -> None:
        w, h = PAGE
        x0, x1 = MARGIN, w - MARGIN
        c.saveState()
        if frame.watermark:
            c.saveState()
            c.setFillColor(colors.Color(0.7, 0.1, 0.1, alpha=0.16))
            c.translate(w / 2, h / 2)
            c.rotate(45)
            for dy, text, size in ((0, frame.watermark, 30),
                                   (-32, frame.watermark_note or "", 13)):
                if text:
                    ln = layout(text, 10_000, BOLD, size, "rtl" if rtl else "ltr")[0]
                    c.setFont(BOLD, size)
                    c.drawString(-ln.width / 2, dy, ln.text)
            c.restoreState()
        y = h - MARGIN + 1
        _draw_line(c, frame.title, head, x0, x1, y, "start", rtl)
        _draw_line(c, frame.page_label(number, total), head, x0, x1, y, "end", rtl)
        y -= 11
        if frame.subject:
            _draw_line(c, frame.subject, small, x0, x1, y, "start", rtl)
        if frame.generated:
            _draw_line(c, frame.generated, small, x0, x1, y, "end", rtl)
        c.setStrokeColor(LINE)
        c.setLineWidth(0.5)
        c.line(x0, y - 4, x1, y - 4)
        if frame.watermark:
            _draw_line(c, frame.watermark, replace(head, color=BAD), x0, x1,
                       FOOTER - 2, "center", rtl)
        c.restoreState()
    return decorate


def build(out, story: list, frame: PageFrame, ctx: Ctx, *, title: str,
          subject: str = "") -> int:
    """Lay out ``story`` into ``out`` (a path or a binary file object); the page count."""
    doc = BaseDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=MARGIN + HEADER - 6 * mm, bottomMargin=MARGIN + 2 * mm,
                          title=title, subject=subject, author="MILenARI EDC",
                          creator="MILenARI EDC", lang=ctx.lang, pageCompression=1,
                          initialFontName=FONT)
    body = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                 leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[body])])
    made: list[PagedCanvas] = []

    def maker(*a, **kw):
        c = PagedCanvas(*a, decorate=make_decorator(frame, ctx.rtl), **kw)
        made.append(c)
        return c
    doc.build(story, canvasmaker=maker)
    return made[-1].page_count if made else 0
