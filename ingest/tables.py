"""Tables to text that keeps its meaning: every cell carries its column header.

"how many participants in 2023?" finds the row `Jaar: 2023; Deelnemers: 120` where a stream
of numbers (`2023 120 2024 180`) has lost which figure is which.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")
MAX_HEADER_CHARS = 60
_YEAR = re.compile(r"(19|20)\d\d")


def _clean(cell: object) -> str:
    return _SPACES.sub(" ", str(cell or "")).strip()


def _is_numeric(text: str) -> bool:
    stripped = text.replace(".", "").replace(",", "").replace("%", "").replace("€", "").strip()
    return stripped.lstrip("-+").isdigit()


def table_lines(rows: list[list[object]], *, single_column: bool = True) -> list[str]:
    """One line per data row, `Header: value; Header: value`.

    The header is the first row with text in most of its cells and no numbers only (a
    title row spanning the table is skipped). Empty cells are left out; a cell without a
    header is given as its value alone. A table of one row or one column is returned as
    its plain cells (or nothing, with `single_column=False`: a framed text box in a PDF,
    whose text the page already has).
    """
    cleaned = [[_clean(c) for c in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    width = max(len(row) for row in cleaned)
    cleaned = [row + [""] * (width - len(row)) for row in cleaned]
    used = [j for j in range(width) if any(row[j] for row in cleaned)]
    cleaned = [[row[j] for j in used] for row in cleaned]  # columns empty in every row
    width = len(used)
    if width < 2 or len(cleaned) < 2:
        if not single_column and width < 2:
            return []
        return [" ".join(c for c in row if c) for row in cleaned]
    start = 0
    # A header may leave the row-label column empty; a title row ("Tabel 3: ...") has text
    # only in its first cell and is skipped.
    while start < len(cleaned) - 1 and sum(bool(c) for c in cleaned[start][1:]) < max(
        1, (width - 1) // 2
    ):
        start += 1
    header = cleaned[start]
    if any(_is_numeric(c) and not _YEAR.fullmatch(c) for c in header if c) or any(
        len(c) > MAX_HEADER_CHARS for c in header
    ):
        # A figure other than a year, or a sentence, is data: the continuation of a table
        # from the previous page, whose header stayed there.
        header = [""] * width
    else:
        # A merged header cell spans the columns to its right ("2023" over two columns).
        header = _fill_right(header)
    lines = [" ".join(c for c in row if c) for row in cleaned[:start]]
    for row in cleaned[start + (1 if any(header) else 0) :]:
        parts = []
        for h, v in zip(header, row, strict=True):
            if not v:
                continue
            parts.append(f"{h}: {v}" if h and h != v else v)
        if parts:
            lines.append("; ".join(parts))
    return lines


def _fill_right(header: list[str]) -> list[str]:
    out, last = [], ""
    for i, h in enumerate(header):
        if h:
            last = h
            out.append(h)
        else:
            out.append(last if i > 0 else "")
    return out


def markdown_tables_to_lines(text: str) -> str:
    """Rewrite Markdown pipe tables (as trafilatura writes them) with `table_lines`."""
    out: list[str] = []
    block: list[list[str]] = []

    def flush() -> None:
        if block:
            out.extend(table_lines(block))
            block.clear()

    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("|") and s.count("|") >= 2:
            cells = [c.strip() for c in s.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue  # the |---|---| separator
            block.append(cells)
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out)
