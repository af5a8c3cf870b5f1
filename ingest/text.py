"""Clean extracted text: Unicode NFKC, hyphenation at line ends, running headers/footers."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# A word broken at a line end ("digi-\ntale") is joined only when the next line starts in
# lower case, so real compounds at a line end ("Noord-\nHolland") keep their hyphen.
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[a-zà-ÿ])")
_COMPOUND_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[A-ZÀ-Ý])")
_SPACES = re.compile(r"[ \t\u00a0]+")
_DIGITS = re.compile(r"\d+")
# A paragraph already ends a sentence or a clause, perhaps inside a closing bracket or quote.
_ENDED = re.compile(r"[.!?:;,\u2026][)\]\"'\u201d\u2019\u00bb]*$")


def normalize(text: str) -> str:
    """NFKC (ligatures such as 'ﬁ' become 'fi'), joined hyphenation, tidy spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _HYPHEN_BREAK.sub("", text)
    text = _COMPOUND_BREAK.sub("-", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def as_sentence(paragraph: str) -> str:
    """The paragraph with a full stop added when it ends without one (. ! ? : ; , or an
    ellipsis, perhaps inside a closing bracket or quote); '' for a blank one.

    A slide's bullets and a sheet's rows end without one, and a line break is no sentence
    end to the code that quotes sentences: they would be quoted as one run-on sentence.
    """
    text = paragraph.rstrip()
    if not text or _ENDED.search(text):
        return text
    return text + "."


def _shape(line: str) -> str:
    # Page numbers differ per page; the shape of a running header or footer does not.
    return _DIGITS.sub("#", line.strip().lower())


def strip_running_lines(pages: list[str], zone: int = 2, share: float = 0.5) -> list[str]:
    """Drop lines that repeat at the top or bottom of most pages (headers, footers, page numbers).

    Args:
        pages: page texts, already normalised.
        zone: how many non-empty lines at the top and at the bottom are candidates.
        share: the fraction of pages a line must recur on to count as running.
    """
    if len(pages) < 3:
        return pages
    split = [[ln for ln in p.split("\n") if ln.strip()] for p in pages]
    counts: Counter[tuple[str, str]] = Counter()
    for lines in split:
        seen = {("top", _shape(ln)) for ln in lines[:zone]}
        seen |= {("bottom", _shape(ln)) for ln in lines[-zone:]}
        counts.update(seen)
    need = max(3, int(share * len(pages) + 0.999))
    running = {key for key, n in counts.items() if n >= need}
    if not running:
        return pages
    out = []
    for lines in split:
        keep = list(lines)
        for i in range(min(zone, len(lines))):
            if ("top", _shape(lines[i])) in running:
                keep[i] = None  # type: ignore[call-overload]
        for i in range(max(0, len(lines) - zone), len(lines)):
            if ("bottom", _shape(lines[i])) in running:
                keep[i] = None  # type: ignore[call-overload]
        kept = [ln for ln in keep if ln is not None]
        # A page made only of "running" lines (the same short text on every page) is content.
        out.append("\n".join(kept if kept else lines))
    return out
