"""A document's date, from what it says about itself.

Candidates are ranked by how much they say about when the document was made current
(strongest first); among equals, the one found first wins (the first page before the last):

1. an adoption: "vastgesteld (door de raad) op 12 maart 2024", "adopted on ...",
   "besloten op ...", "raadsbesluit van ..."  (the date a strategy took effect)
2. a date label: "Datum: 18 maart 2024", "Date: 2024-03-18", "d.d. ..."
3. a period in the title or on the first page: "2025–2028", "2025 t/m 2028" (its start year)
4. a full date or a month and year on the first page ("september 2024")
5. the file's metadata: a web page's publication date, a PDF's or Word file's creation or
   modification date (weak: a re-save or a PDF export changes it)

A year alone ("Strategie 2030") is a target, not a date, and is never taken.
"""

from __future__ import annotations

import re

MONTHS = {
    "januari": 1, "january": 1, "jan": 1, "februari": 2, "february": 2, "feb": 2,
    "maart": 3, "march": 3, "mrt": 3, "mar": 3, "april": 4, "apr": 4, "mei": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6, "juli": 7, "july": 7, "jul": 7, "augustus": 8,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10,
    "october": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"(?:19[5-9]\d|20\d\d)"
# "12 maart 2024", "12 March 2024", "March 12, 2024", "12-03-2024", "2024-03-12"
_DATE = (
    rf"(?:(?P<d1>\d{{1,2}})\s+(?P<m1>{_MONTH})\.?\s+(?P<y1>{_YEAR})"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}}),?\s+(?P<y2>{_YEAR})"
    rf"|(?P<d3>\d{{1,2}})[-/.](?P<m3>\d{{1,2}})[-/.](?P<y3>{_YEAR})"
    rf"|(?P<y4>{_YEAR})-(?P<m4>\d{{1,2}})-(?P<d4>\d{{1,2}}))"
)
_MONTH_YEAR = rf"(?P<m5>{_MONTH})\s+(?P<y5>{_YEAR})"
_ADOPTED = re.compile(
    rf"(?:(?:vastgesteld|goedgekeurd|besloten|aangenomen|adopted|approved)"
    rf"(?:\s+(?:door|in|by)\s+(?:de\s+|the\s+)?[\w-]+(?:\s+[\w-]+)?)?\s+(?:op|on|d\.d\.)?"
    rf"|raadsbesluit\s+(?:van)?)\s*(?:{_DATE})",
    re.IGNORECASE,
)
LABELLED_DATE = re.compile(rf"\b(?:datum|date|d\.d\.)\s*:?\s*(?:{_DATE})", re.IGNORECASE)
_PERIOD = re.compile(rf"\b(?P<start>{_YEAR})\s*(?:[-–—]|t/m|tot en met|to)\s*(?P<end>{_YEAR})\b")
ANY_DATE = re.compile(rf"\b(?:{_DATE})\b", re.IGNORECASE)
_ANY_MONTH_YEAR = re.compile(rf"\b{_MONTH_YEAR}\b", re.IGNORECASE)
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def _iso(m: re.Match) -> str | None:
    g = m.groupdict()
    for i in "1234":
        if g.get(f"y{i}"):
            y, mo, d = g[f"y{i}"], g[f"m{i}"], g[f"d{i}"]
            month = int(mo) if mo.isdigit() else MONTHS.get(mo.lower().rstrip("."))
            if not month or not 1 <= month <= 12 or not 1 <= int(d) <= 31:
                return None
            return f"{int(y):04d}-{month:02d}-{int(d):02d}"
    return None


def date_from_text(first_page: str, full_text: str, title: str = "") -> tuple[str, int] | None:
    """The best date stated in the text and its rank (1 strongest), or None."""
    text = full_text[:300_000]
    for rank, pattern in ((1, _ADOPTED), (2, LABELLED_DATE)):
        for m in pattern.finditer(text):
            iso = _iso(m)
            if iso:
                return iso, rank
    for source in (title, first_page):
        m = _PERIOD.search(source or "")
        if m and 0 < int(m["end"]) - int(m["start"]) <= 20:
            return m["start"], 3
    for m in ANY_DATE.finditer(first_page):
        iso = _iso(m)
        if iso:
            return iso, 4
    m = _ANY_MONTH_YEAR.search(first_page)
    if m:
        return m["y5"], 4
    return None


def metadata_date(value: str | None) -> str | None:
    """An ISO date from a PDF date ("D:20240918120000+02'00'") or an ISO timestamp."""
    if not value:
        return None
    value = value.strip()
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", value)
    if m:
        return "-".join(m.groups())
    m = _PDF_DATE.match(value)
    if m and m.group(1) and 1950 <= int(m.group(1)) <= 2100:
        if m.group(2) and m.group(3):
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
        return m.group(1)
    return None


def document_date(
    first_page: str, full_text: str, title: str = "", metadata: list[str | None] = ()
) -> str | None:
    """The document's date (ISO `YYYY-MM-DD` or `YYYY`) by the ranking above, or None."""
    found = date_from_text(first_page, full_text, title)
    if found:
        return found[0]
    for value in metadata:
        iso = metadata_date(value)
        if iso:
            return iso
    return None
