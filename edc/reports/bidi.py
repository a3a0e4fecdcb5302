"""The Unicode Bidirectional Algorithm (UAX #9) for one laid-out line. Pure: no Flask.

PDF text is drawn glyph by glyph from left to right, so right-to-left text must be put
into *visual* order before it is drawn. UAX #9 resolves embedding levels for a paragraph
and then reorders each line separately (rule L2); our printed records wrap the logical
text into lines first and then call :func:`visual` on each line, so that the first words
of a multi-line Arabic paragraph are on its first line (see ``textlayout.py``).

Implemented: paragraph level (P2/P3) or a given base direction; explicit embeddings,
overrides and isolates (X1–X10: LRE RLE LRO RLO PDF LRI RLI FSI PDI); weak types
(W1–W7); paired brackets (N0); neutrals (N1–N2); implicit levels (I1–I2); trailing
white space (L1); reordering (L2); and mirrored glyphs such as brackets at right-to-left
levels (L4). L3 is left out on purpose: reportlab draws glyph after glyph, and the Arabic
vowel marks of DejaVu Sans are drawn to the right of their origin, over the glyph that
follows in drawing order — so a mark must stay *before* its letter in visual order, as
plain reversal leaves it. The explicit formatting characters are removed from the
result (they have no glyph).

python-bidi's compiled ``get_display`` (0.6) does not mirror brackets, so this module
does the work itself; tests compare it with python-bidi on random strings.
"""
from __future__ import annotations

import re
import unicodedata

LRE, RLE, PDF, LRO, RLO = "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"

_STRONG = {"L", "R", "AL"}
_ISOLATE_INIT = {"LRI", "RLI", "FSI"}
_NI = {"B", "S", "WS", "ON", "LRI", "RLI", "FSI", "PDI"}
_REMOVED = {"RLE", "LRE", "RLO", "LRO", "PDF", "BN"}
MAX_DEPTH = 125

#: characters that make a line need the algorithm (R, AL, AN, and RTL controls)
NEEDS_BIDI = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\u200f\u202b\u202e\u2067"
                        "\U00010800-\U00010fff\U0001e800-\U0001efff]")
CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Bidi_Paired_Bracket (BidiBrackets.txt), the common pairs.
_PAIRS = ("()", "[]", "{}", "\u0f3a\u0f3b", "\u0f3c\u0f3d", "\u169b\u169c", "\u2045\u2046",
          "\u207d\u207e", "\u208d\u208e", "\u2308\u2309", "\u230a\u230b", "\u2329\u232a",
          "\u2768\u2769", "\u276a\u276b", "\u276c\u276d", "\u276e\u276f", "\u2770\u2771",
          "\u2772\u2773", "\u2774\u2775", "\u27c5\u27c6", "\u27e6\u27e7", "\u27e8\u27e9",
          "\u27ea\u27eb", "\u27ec\u27ed", "\u27ee\u27ef", "\u2983\u2984", "\u2985\u2986",
          "\u2987\u2988", "\u2989\u298a", "\u298b\u298c", "\u298d\u2990", "\u298f\u298e",
          "\u2991\u2992", "\u2993\u2994", "\u2995\u2996", "\u2997\u2998", "\u29d8\u29d9",
          "\u29da\u29db", "\u29fc\u29fd", "\u2e22\u2e23", "\u2e24\u2e25", "\u2e26\u2e27",
          "\u2e28\u2e29", "\u3008\u3009", "\u300a\u300b", "\u300c\u300d", "\u300e\u300f",
          "\u3010\u3011", "\u3014\u3015", "\u3016\u3017", "\u3018\u3019", "\u301a\u301b",
          "\ufe59\ufe5a", "\ufe5b\ufe5c", "\ufe5d\ufe5e", "\uff08\uff09", "\uff3b\uff3d",
          "\uff5b\uff5d", "\uff5f\uff60", "\uff62\uff63")
OPENERS = {p[0]: p[1] for p in _PAIRS}
CLOSERS = {p[1]: p[0] for p in _PAIRS}
# canonical equivalents (U+2329/232A decompose to U+3008/3009)
_CANON = {"\u2329": "\u3008", "\u232a": "\u3009"}

# Bidi_Mirroring_Glyph (BidiMirroring.txt): brackets, quotes and common relations.
_MIRROR_PAIRS = [p for p in _PAIRS] + [
    "<>", "\u00ab\u00bb", "\u2039\u203a", "\u2264\u2265", "\u2266\u2267", "\u226a\u226b",
    "\u2208\u220b", "\u2209\u220c", "\u2282\u2283", "\u2286\u2287", "\u228f\u2290",
    "\u2291\u2292", "\u22a2\u22a3", "\u22d6\u22d7", "\u2270\u2271", "\u2272\u2273",
    "\u2276\u2277", "\u227a\u227b", "\u227c\u227d", "\u2280\u2281", "\u2284\u2285",
    "\u2288\u2289", "\u228a\u228b", "\u22b0\u22b1", "\u22b2\u22b3", "\u22b4\u22b5",
    "\u22d0\u22d1", "\u22de\u22df", "\u22e0\u22e1", "\u2e02\u2e03", "\u2e04\u2e05",
    "\u2e09\u2e0a", "\u2e0c\u2e0d", "\u2e1c\u2e1d", "\u2e20\u2e21", "\u2215\u29f5",
    "\u2243\u22cd", "\u2252\u2253", "\u2254\u2255", "\u2298\u29b8", "\u22a6\u2ade",
    "\u22a8\u2ae4", "\u22a9\u2ae3", "\u22ab\u2ae5", "\u22f0\u22f1", "\u2acb\u2acc",
    "\u2aa1\u2aa2", "\u2a7d\u2a7e", "\u2a95\u2a96", "\ufe64\ufe65", "\uff1c\uff1e",
    "\u2998\u2997"]
MIRROR: dict[str, str] = {}
for _p in _MIRROR_PAIRS:
    MIRROR.setdefault(_p[0], _p[1])
    MIRROR.setdefault(_p[1], _p[0])


def bidi_class(ch: str) -> str:
    return unicodedata.bidirectional(ch) or "L"


def _first_strong(classes: list[str], start: int, end: int) -> str | None:
    """P2: the first L, R or AL, skipping isolates (up to their matching PDI)."""
    depth = 0
    for i in range(start, end):
        t = classes[i]
        if t in _ISOLATE_INIT:
            depth += 1
        elif t == "PDI":
            if depth:
                depth -= 1
        elif depth == 0 and t in _STRONG:
            return t
    return None


def base_level(text: str) -> int:
    """P2/P3: 1 if the first strong character (outside isolates) is R or AL, else 0."""
    classes = [bidi_class(c) for c in text]
    return 1 if _first_strong(classes, 0, len(classes)) in ("R", "AL") else 0


def _matching_pdi(classes: list[str]) -> dict[int, int]:
    out, stack = {}, []
    for i, t in enumerate(classes):
        if t in _ISOLATE_INIT:
            stack.append(i)
        elif t == "PDI" and stack:
            out[stack.pop()] = i
    return out


def _explicit(classes: list[str], para: int) -> tuple[list[int], list[str]]:
    """X1–X9: embedding levels, and classes after overrides."""
    n = len(classes)
    types = list(classes)
    levels = [para] * n
    stack = [(para, None, False)]  # (level, override, isolate)
    over_iso = over_emb = valid_iso = 0
    match = _matching_pdi(classes)

    def next_level(level, rtl):
        return (level + 1) | 1 if rtl else (level + 2) & ~1

    for i, t in enumerate(classes):
        level, override, _iso = stack[-1]
        if t in ("RLE", "LRE", "RLO", "LRO"):
            new = next_level(level, t in ("RLE", "RLO"))
            levels[i] = level
            if new <= MAX_DEPTH and over_iso == 0 and over_emb == 0:
                stack.append((new, {"RLO": "R", "LRO": "L"}.get(t), False))
            elif over_iso == 0:
                over_emb += 1
        elif t in _ISOLATE_INIT:
            levels[i] = level
            if override:
                types[i] = override
            rtl = t == "RLI"
            if t == "FSI":
                end = match.get(i, n)
                rtl = _first_strong(classes, i + 1, end) in ("R", "AL")
            new = next_level(level, rtl)
            if new <= MAX_DEPTH and over_iso == 0 and over_emb == 0:
                valid_iso += 1
                stack.append((new, None, True))
            else:
                over_iso += 1
        elif t == "PDI":
            if over_iso > 0:
                over_iso -= 1
            elif valid_iso > 0:
                over_emb = 0
                while not stack[-1][2]:
                    stack.pop()
                stack.pop()
                valid_iso -= 1
            level, override, _iso = stack[-1]
            levels[i] = level
            if override:
                types[i] = override
        elif t == "PDF":
            levels[i] = level
            if over_iso > 0:
                pass
            elif over_emb > 0:
                over_emb -= 1
            elif not stack[-1][2] and len(stack) >= 2:
                stack.pop()
        elif t == "B":
            levels[i] = para
        elif t == "BN":
            levels[i] = level
        else:
            levels[i] = level
            if override:
                types[i] = override
    return levels, types


def _run_sequences(kept: list[int], levels: list[int], classes: list[str]) -> list[list[int]]:
    """X10: isolating run sequences (lists of indices), from level runs linked by
    isolate initiators and their matching PDIs."""
    runs: list[list[int]] = []
    for i in kept:
        if runs and levels[runs[-1][-1]] == levels[i]:
            runs[-1].append(i)
        else:
            runs.append([i])
    match = _matching_pdi(classes)
    starts = {r[0]: r for r in runs}
    sequences = []
    for run in runs:
        first = run[0]
        if classes[first] == "PDI" and first in match.values():
            continue  # continues the sequence of its initiator
        seq = list(run)
        while classes[seq[-1]] in _ISOLATE_INIT and seq[-1] in match:
            nxt = starts.get(match[seq[-1]])
            if nxt is None:
                break
            seq.extend(nxt)
        sequences.append(seq)
    return sequences


def _resolve_sequence(seq: list[int], text: str, classes: list[str], types: list[str],
                      levels: list[int], explicit: list[int], kept_pos: dict[int, int],
                      kept: list[int], para: int, match: dict[int, int]) -> None:
    """W1–I2 on one isolating run sequence; ``levels`` is updated, ``explicit`` (the
    levels after X1–X8) gives sos and eos."""
    level = explicit[seq[0]]
    pos = kept_pos[seq[0]]
    before = explicit[kept[pos - 1]] if pos > 0 else para
    last = seq[-1]
    lpos = kept_pos[last]
    if classes[last] in _ISOLATE_INIT and last not in match or lpos + 1 >= len(kept):
        after = para
    else:
        after = explicit[kept[lpos + 1]]
    sos = "R" if max(level, before) % 2 else "L"
    eos = "R" if max(explicit[last], after) % 2 else "L"
    t = [types[i] for i in seq]
    orig = [classes[i] for i in seq]
    n = len(t)
    # W1
    prev = sos
    for k in range(n):
        if t[k] == "NSM":
            t[k] = "ON" if prev in _ISOLATE_INIT or prev == "PDI" else prev
        prev = t[k]
    # W2, W3
    last_strong = sos
    for k in range(n):
        if t[k] in _STRONG:
            last_strong = t[k]
        elif t[k] == "EN" and last_strong == "AL":
            t[k] = "AN"
    for k in range(n):
        if t[k] == "AL":
            t[k] = "R"
    # W4
    for k in range(1, n - 1):
        if t[k] == "ES" and t[k - 1] == "EN" and t[k + 1] == "EN":
            t[k] = "EN"
        elif t[k] == "CS" and t[k - 1] == t[k + 1] and t[k - 1] in ("EN", "AN"):
            t[k] = t[k - 1]
    # W5
    k = 0
    while k < n:
        if t[k] == "ET":
            j = k
            while j < n and t[j] == "ET":
                j += 1
            if (k > 0 and t[k - 1] == "EN") or (j < n and t[j] == "EN"):
                for m in range(k, j):
                    t[m] = "EN"
            k = j
        else:
            k += 1
    # W6
    for k in range(n):
        if t[k] in ("ES", "ET", "CS"):
            t[k] = "ON"
    # W7
    last_strong = sos
    for k in range(n):
        if t[k] in ("L", "R"):
            last_strong = t[k]
        elif t[k] == "EN" and last_strong == "L":
            t[k] = "L"
    # N0: paired brackets
    e = "R" if level % 2 else "L"
    pairs, stack = [], []
    for k in range(n):
        if t[k] != "ON":
            continue
        ch = _CANON.get(text[seq[k]], text[seq[k]])
        if ch in OPENERS:
            if len(stack) == 63:
                break
            stack.append((OPENERS[ch], k))
        elif ch in CLOSERS:
            for s in range(len(stack) - 1, -1, -1):
                if _CANON.get(stack[s][0], stack[s][0]) == ch:
                    pairs.append((stack[s][1], k))
                    del stack[s:]
                    break

    def strong_of(x):
        return "R" if x in ("R", "EN", "AN") else ("L" if x == "L" else None)

    for o, c in sorted(pairs):
        inside = {strong_of(t[m]) for m in range(o + 1, c)} - {None}
        if not inside:
            continue
        if e in inside:
            new = e
        else:
            ctx = sos
            for m in range(o - 1, -1, -1):
                s = strong_of(t[m])
                if s:
                    ctx = s
                    break
            new = ctx  # the opposite direction if the context has it, else e
        for m in (o, c):
            t[m] = new
            q = m + 1
            while q < n and orig[q] == "NSM":
                t[q] = new
                q += 1
    # N1, N2
    k = 0
    while k < n:
        if t[k] in _NI:
            j = k
            while j < n and t[j] in _NI:
                j += 1
            left = sos if k == 0 else ("R" if t[k - 1] in ("R", "EN", "AN") else t[k - 1])
            right = eos if j == n else ("R" if t[j] in ("R", "EN", "AN") else t[j])
            new = left if left == right and left in ("L", "R") else e
            for m in range(k, j):
                t[m] = new
            k = j
        else:
            k += 1
    # I1, I2
    for k, i in enumerate(seq):
        lv = levels[i]
        if lv % 2 == 0:
            if t[k] == "R":
                levels[i] = lv + 1
            elif t[k] in ("AN", "EN"):
                levels[i] = lv + 2
        elif t[k] in ("L", "EN", "AN"):
            levels[i] = lv + 1


def resolve_levels(text: str, base: int | None = None) -> list[int]:
    """The embedding level of each character of one line (X9-removed characters get the
    level of the character before them)."""
    classes = [bidi_class(c) for c in text]
    para = base if base is not None else (
        1 if _first_strong(classes, 0, len(classes)) in ("R", "AL") else 0)
    levels, types = _explicit(classes, para)
    kept = [i for i, t in enumerate(classes) if t not in _REMOVED]
    kept_pos = {i: p for p, i in enumerate(kept)}
    match = _matching_pdi(classes)
    explicit = list(levels)
    for seq in _run_sequences(kept, explicit, classes):
        _resolve_sequence(seq, text, classes, types, levels, explicit, kept_pos, kept, para,
                          match)
    # L1: separators, and white space / isolate controls before them or at the line end
    trailing = True
    for i in range(len(text) - 1, -1, -1):
        t = classes[i]
        if t in ("S", "B"):
            levels[i] = para
            trailing = True
        elif t in ("WS", "LRI", "RLI", "FSI", "PDI") or t in _REMOVED:
            if trailing:
                levels[i] = para
        else:
            trailing = False
    return levels


def visual(text: str, base: int | None = None) -> str:
    """One line in visual (left-to-right drawing) order, without formatting characters.

    ``base``: 0 left-to-right, 1 right-to-left, None from the first strong character.
    """
    if not text:
        return text
    if (base in (0, None)) and not NEEDS_BIDI.search(text):
        return CONTROLS.sub("", text)
    levels = resolve_levels(text, base)
    chars = [(MIRROR.get(ch, ch) if lv % 2 else ch, lv)      # L4: mirror at odd levels
             for ch, lv in zip(text, levels) if bidi_class(ch) not in _REMOVED]  # X9
    # L2: from the highest level to the lowest odd level, reverse each run at or above
    if chars:
        hi = max(lv for _, lv in chars)
        lo_odd = min((lv for _, lv in chars if lv % 2), default=hi + 1)
        for level in range(hi, lo_odd - 1, -1):
            k, n = 0, len(chars)
            while k < n:
                if chars[k][1] >= level:
                    j = k
                    while j < n and chars[j][1] >= level:
                        j += 1
                    chars[k:j] = chars[k:j][::-1]
                    k = j
                else:
                    k += 1
    return CONTROLS.sub("", "".join(c for c, _ in chars))
