"""Catalogue maintenance (wraps Babel): extract → messages.pot, update the .po, compile .mo.

Extraction covers Python (``_``, ``gettext``, ``_l``, ``lazy_gettext``, ``ngettext``), the
Jinja templates, and the eCRF definitions in forms/*.yaml (labels, help, titles, codelist
labels, check messages are English msgids), and the in-app help in edc/help/help.yaml.
"""
from __future__ import annotations


from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import write_po

from . import REPO_ROOT
from .crf.babel_extract import extract_forms, extract_help

TRANSLATIONS = REPO_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ("ar", "en", "es", "it")
KEYWORDS = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None, lazy_ngettext=(1, 2), N_=None)


def extract() -> int:
    catalog = Catalog(project="MILenARI EDC", version="1", charset="utf-8",
                      msgid_bugs_address="", copyright_holder="MILenARI EDC",
                      fuzzy=False)
    sources = [
        (REPO_ROOT / "edc", [("**.py", "python"), ("**/templates/**.html", "jinja2")]),
        (REPO_ROOT / "forms", [("*.yaml", extract_forms)]),
        (REPO_ROOT / "edc" / "help", [("*.yaml", extract_help)]),
    ]
    for root, method_map in sources:
        for filename, lineno, message, comments, context in extract_from_dir(
                str(root), method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
                strip_comment_tags=True):
            rel = (root / filename).relative_to(REPO_ROOT).as_posix()
            catalog.add(message, None, [(rel, lineno)], auto_comments=comments,
                        context=context)
    with open(POT, "wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True,
                 include_lineno=False)
    return len(catalog)


def _run(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def update() -> None:
    for lang in LANGUAGES:
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            _run("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang)
        else:
            _run("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang,
                 "--no-fuzzy-matching", "--ignore-obsolete", "-w", "100")


def compile_all(only_stale: bool = False) -> None:
    """Compile each catalogue (.po → .mo); ``only_stale``: only where the .mo is missing or
    older than its .po (the test suite: its two passes may run side by side, and must not
    rewrite a .mo the other is reading)."""
    for lang in LANGUAGES:
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        mo = po.with_suffix(".mo")
        if only_stale and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        _run("compile", "-d", str(TRANSLATIONS), "-l", lang)


def catalogue_problems() -> list[str]:
    """Empty or fuzzy entries in ar/es/it (English falls back to the msgid)."""
    from babel.messages.pofile import read_po
    problems = []
    for lang in LANGUAGES:
        if lang == "en":
            continue
        path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            problems.append(f"{lang}: no catalogue")
            continue
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=lang)
        for msg in cat:
            if not msg.id:
                continue
            strings = msg.string if isinstance(msg.string, (list, tuple)) else [msg.string]
            if msg.fuzzy or not all(strings):
                problems.append(f"{lang}: {'fuzzy' if msg.fuzzy else 'empty'}: {msg.id!r}")
    return problems


def untranslated_in_pot() -> list[str]:
    """msgids of the template that a catalogue lacks (i.e. update was not run)."""
    from babel.messages.pofile import read_po
    with open(POT, "rb") as fh:
        pot = read_po(fh)
    missing = []
    for lang in LANGUAGES:
        path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=lang)
        for msg in pot:
            if msg.id and msg.id not in cat:
                missing.append(f"{lang}: missing {msg.id!r}")
    return missing


