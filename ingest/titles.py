"""A title people recognise: the metadata title when it means something, else the largest
heading on the first page, else the file name made readable."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.dates import ANY_DATE, LABELLED_DATE

_JUNK = {"", "untitled", "title", "document", "microsoft word", "naamloos", "titel",
         "presentation", "powerpoint presentation", "slide 1"}  # fmt: skip
# Words that make a short title a publisher's or an author's name, not the document's.
_PUBLISHER = re.compile(
    r"\b(realisatie|ministerie|ministry|gemeente|municipality|provincie|rijksoverheid|"
    r"dienst|agentschap|b\.?v\.?|n\.?v\.?|inc\.?|ltd\.?|gmbh|vng|unie|stichting)\b",
    re.IGNORECASE,
)
_FILE_EXT = re.compile(r"\.(docx?|odt|ods|pdf|pptx?|xlsx?|csv|indd|rtf|txt|html?)$",
                       re.IGNORECASE)
_SOFTWARE = re.compile(r"^(microsoft (word|powerpoint|excel)|adobe|libreoffice)\b", re.IGNORECASE)


def meaningful(title: str | None, *, others: tuple[str | None, ...] = ()) -> str | None:
    """`title` cleaned, or None when it is no real title.

    Not a title: empty or a placeholder ("Untitled", "Microsoft Word - ..."'s file name), a
    date or a date label ("Datum: 18 maart 2024"), a file-name-like string (`+` or `_`, an
    extension), a publisher's name ("VNG Realisatie", or equal to the author/creator field
    given in `others`).
    """
    if not title:
        return None
    title = " ".join(str(title).split())
    if title.lower().startswith("microsoft word - "):
        title = title[len("microsoft word - ") :]
    if title.lower() in _JUNK or len(title) < 3 or sum(ch.isalpha() for ch in title) < 3:
        return None
    if _SOFTWARE.match(title):
        return None
    if LABELLED_DATE.search(title) or ANY_DATE.fullmatch(title.strip(" .")):
        return None
    if re.match(r"^(datum|date)\b", title, re.IGNORECASE):
        return None
    if "+" in title or "_" in title or _FILE_EXT.search(title):
        return None
    if " " not in title and re.search(r"[-.]\w", title) and len(title) > 12:
        return None  # "strategie-2024-def.v3": a file name
    if any(o and " ".join(o.split()).lower() == title.lower() for o in others):
        return None
    if len(title.split()) <= 3 and _PUBLISHER.search(title):
        return None
    return title[:200]


def from_file_name(path: Path) -> str:
    """The file name without extension, separators as spaces, first letter capital."""
    stem = _FILE_EXT.sub("", path.name)
    stem = re.sub(r"[+_]+|(?<=\w)-(?=\w)|%20", " ", stem)
    stem = " ".join(stem.split()) or path.name
    return stem[:1].upper() + stem[1:]


def choose_title(
    metadata: str | None, heading: str | None, path: Path, *, others: tuple = ()
) -> str:
    """The first meaningful one of: metadata title, largest first-page heading, file name."""
    return (
        meaningful(metadata, others=others)
        or meaningful(heading, others=others)
        or from_file_name(path)
    )
