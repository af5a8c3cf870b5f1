"""Plain text (.txt) and RTF (.rtf) to paragraphs; the decoding that .txt and .md share.

Files saved by Windows tools come as UTF-16 with a byte-order mark, or as Windows-1252
(cp1252) without any mark; the rest is UTF-8. The mark decides when there is one; else
UTF-8 when the bytes are valid UTF-8, else cp1252 (which reads almost any byte).
"""

from __future__ import annotations

import codecs
import re

from ingest.errors import IngestError
from ingest.office import OfficeContent
from ingest.records import Segment
from ingest.text import normalize

# UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
MAX_TITLE_CHARS = 100
_SENTENCE_END = re.compile(r"[.,;:]$")
RTF_MAGIC = b"{\\rtf"
# A line break before every group and every font reference (not escaped: an even run of
# backslashes before it). RTF ignores line breaks, but striprtf's hyperlink and font-table
# patterns scan to the end of a line from each such start: on a hostile one-line file that
# is quadratic (270 KB took 9 s). Broken into lines it is linear; hyperlinks keep their text
# and lose their address.
_RTF_STARTS = re.compile(r"(?<!\\)((?:\\\\)*)(\{|\\f\d)")


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of `data` names, or None."""
    return next((enc for bom, enc in _BOMS if data.startswith(bom)), None)


def decode_text(data: bytes) -> str:
    """Text from bytes: by the byte-order mark, else UTF-8, else cp1252."""
    encoding = bom_encoding(data)
    if encoding:
        return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; a stray one must not cost the whole file.
        return data.decode("cp1252", errors="replace")


def utf8_head(head: bytes) -> bytes:
    """The first bytes as UTF-8 when a mark says UTF-16 or UTF-32, else unchanged.

    So that the type can be sniffed (and the NUL bytes of a wide encoding are not taken
    for a binary file) the same way for every text file.
    """
    encoding = bom_encoding(head)
    if encoding in ("utf-16", "utf-32"):
        # The head may end inside a character: that partial character is dropped.
        return head.decode(encoding, errors="ignore").encode("utf-8")
    return head


def is_rtf(head: bytes) -> bool:
    """True when the (UTF-8) head starts an RTF document."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(RTF_MAGIC)


def read_text(data: bytes) -> OfficeContent:
    """A plain-text file as one segment, its paragraphs (blank lines) kept.

    `heading` is the first line when it is short and no sentence (a candidate title).

    Raises:
        IngestError: "empty file" (no bytes) or "no text" (only white space).
    """
    if not data:
        raise IngestError("empty file")
    return _paragraphs(decode_text(data))


def read_rtf(data: bytes) -> OfficeContent:
    """An RTF document's text (striprtf) as one segment, a line per paragraph.

    Raises:
        IngestError: not readable as RTF, or no text.
    """
    from striprtf.striprtf import rtf_to_text

    try:
        # RTF is 7-bit text; 8-bit characters are escapes its code page decodes.
        text = rtf_to_text(_RTF_STARTS.sub("\\1\n\\2", decode_text(data)), errors="replace")
    except Exception as e:  # striprtf raises what int(), bytes.fromhex and codecs raise
        raise IngestError(f"unreadable RTF file ({type(e).__name__})") from e
    return _paragraphs(text)


def _paragraphs(raw: str) -> OfficeContent:
    text = normalize(raw)
    if not text:
        raise IngestError("no text")
    first = text.split("\n", 1)[0]
    short = len(first) <= MAX_TITLE_CHARS and not _SENTENCE_END.search(first)
    return OfficeContent([Segment(text=text)], heading=first if short else None)
