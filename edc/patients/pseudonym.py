"""Pseudonymised patient IDs: ``SITE-NNNN-C`` with an ISO 7064 MOD 37,36 check character.

Pure functions, no app imports. The check character is computed over the site code and
the 4-digit sequence (``ES010007`` → ``ES01-0007-K``); a single mistyped character or a
transposition of two adjacent characters is always detected.
"""
from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = len(ALPHABET)  # 36
PATTERN = re.compile(r"^([A-Z]{2}[0-9]{2})-([0-9]{4})-([0-9A-Z])$")


def _checksum(text: str) -> int:
    check = _M // 2
    for ch in text:
        check = (((check or _M) * 2) % (_M + 1) + ALPHABET.index(ch)) % _M
    return check


def check_character(text: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid) check character for ``text`` (0-9, A-Z)."""
    text = text.upper()
    if not text or any(ch not in ALPHABET for ch in text):
        raise ValueError("only the characters 0-9 and A-Z can carry a check character")
    return ALPHABET[(1 - ((_checksum(text) or _M) * 2) % (_M + 1)) % _M]


def is_valid_check(text: str) -> bool:
    return _checksum(text.upper()) == 1


def make(site_code: str, seq: int) -> str:
    if not 1 <= seq <= 9999:
        raise ValueError("sequence out of range 1-9999")
    body = f"{site_code}{seq:04d}"
    return f"{site_code}-{seq:04d}-{check_character(body)}"


def normalise(text: str) -> str:
    """Upper-case, trimmed, and with Arabic-Indic digits turned into ASCII."""
    from ..i18n_digits import to_ascii_digits  # pure module, no Flask
    return to_ascii_digits(text or "").strip().upper()


def parse(text: str) -> tuple[str, int] | None:
    """Return (site code, sequence) for a well-formed ID with a correct check character.

    None if the ID is malformed or its check character is wrong.
    """
    m = PATTERN.match(normalise(text))
    if not m:
        return None
    site, seq, chk = m.groups()
    if not is_valid_check(f"{site}{seq}{chk}"):
        return None
    return site, int(seq)
