"""Input normalisation shared by forms and services (pure, no Flask)."""
from __future__ import annotations

# Arabic-Indic (U+0660–0669) and Extended Arabic-Indic / Persian (U+06F0–06F9) digits,
# the Arabic decimal separator (U+066B) and thousands separator (U+066C).
_TABLE = {0x0660 + i: str(i) for i in range(10)}
_TABLE.update({0x06F0 + i: str(i) for i in range(10)})
_TABLE[0x066B] = "."
_TABLE[0x066C] = ""


def to_ascii_digits(text: str) -> str:
    return text.translate(_TABLE)


def local_decimal(text: str, decimal_sign: str) -> str:
    """A stored ASCII number as read in a language: ``"1.000"`` → ``"1,000"`` where the
    decimal sign is a comma (Italian, Spanish), so a dose of one is never read as a
    thousand. Digits and precision are kept; no grouping sign is ever added."""
    return text.replace(".", decimal_sign) if decimal_sign != "." else text


def normalise_number(text: str) -> str:
    """ASCII digits, no spaces, decimal comma → point (``"٣٨٫٥"``, ``"38,5"`` → ``"38.5"``)."""
    t = to_ascii_digits(text).strip().replace("\u00a0", "").replace(" ", "")
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    return t
