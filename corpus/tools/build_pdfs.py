"""Build the corpus PDFs and the strategy coverage file from their Markdown sources.

Run from the repository root (``make corpus`` does this)::

    python corpus/tools/build_pdfs.py

* every ``corpus/strategies/src/*.md`` becomes ``corpus/strategies/<name>.pdf``;
* the guide chapters ``corpus/guide/NN-*.md`` become
  ``corpus/guide/pdf/digital-strategy-guide.pdf``;
* ``corpus/strategies/coverage.yaml`` is written from the strategies' front matter.

Each PDF gets a title page, a table of contents, a running header, "Page N of M"
footers, real tables and document info (including the custom keys /Municipality and
/Language). Output is deterministic: the same sources give byte-identical files, so
regenerating does not churn git.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.errors import FPDFException
from pypdf import PdfWriter

CORPUS = Path(__file__).resolve().parent.parent
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)  # fixed so rebuilds are byte-identical
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf",
              "I": "DejaVuSans-Oblique.ttf", "BI": "DejaVuSans-BoldOblique.ttf"}
# Core PDF fonts only cover latin-1; used (with ASCII fallbacks) when DejaVu is absent.
FALLBACK_CHARS = {"€": "EUR", "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-",
                  "—": "-", "…": "...", "•": "-", "≥": ">=", "≤": "<=", "→": "->", "\u00a0": " "}

TEXTS = {
    "nl": {"disclaimer": "Illustratief voorbeelddocument, geschreven voor de open-source "
                         "kennisbank digitale strategie van de MRDH; geen officiële "
                         "publicatie van de gemeente.",
           "toc": "Inhoudsopgave", "page": "Pagina {n} van {m}", "municipality": "Gemeente",
           "subject": "Digitale strategie van de gemeente {name}"},
    "en": {"disclaimer": "Illustrative sample document written for the open-source MRDH "
                         "digital-strategy knowledge base; not an official municipal publication.",
           "toc": "Contents", "page": "Page {n} of {m}", "municipality": "Municipality of",
           "subject": "Digital strategy of the municipality of {name}"},
}


def load_municipality_names() -> dict[str, str]:
    """Map municipality ids to display names from municipalities.yaml."""
    data = yaml.safe_load((CORPUS / "municipalities.yaml").read_text(encoding="utf-8"))
    names = {m["id"]: m["name"] for m in data["municipalities"]}
    names[data["regional"]["id"]] = data["regional"]["name"]
    return names


def split_front_matter(text: str) -> tuple[dict, str]:
    """Return (front matter dict, body) for a Markdown file with optional YAML header."""
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        return {}, text
    return yaml.safe_load(match.group(1)) or {}, text[match.end():]


def parse_blocks(body: str) -> list[tuple]:
    """Parse the Markdown subset of CONVENTIONS.md into (kind, payload) blocks."""
    blocks: list[tuple] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(("p", " ".join(para)))
            para.clear()

    for raw in body.splitlines():
        line = raw.strip()
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*(\{#[^}]*\})?$", line)
        item = re.match(r"^([-*]|\d+\.)\s+(.*)$", line)
        if not line:
            flush()
        elif heading:
            flush()
            blocks.append(("h", len(heading.group(1)), heading.group(2)))
        elif line.startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                continue  # the header separator row carries no content
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1].append(cells)
            else:
                blocks.append(("table", [cells]))
        elif item:
            flush()
            marker = "•" if item.group(1) in "-*" else item.group(1)
            blocks.append(("li", marker, item.group(2)))
        elif raw.startswith((" ", "\t")) and blocks and blocks[-1][0] == "li" and not para:
            kind, marker, text = blocks[-1]  # indented continuation of a list item
            blocks[-1] = (kind, marker, text + " " + line)
        else:
            para.append(line)
    flush()
    return blocks


def to_fpdf_markdown(text: str) -> str:
    """Convert **bold** / *italic* to fpdf2's inline markup, escaping its other markers."""
    for marker in ("__", "~~", "--"):  # fpdf2 would read these as italic/strike/underline
        text = text.replace(marker, "\\" + marker)
    return re.sub(r"(?<![*\w])\*(?!\*)(.+?)(?<!\*)\*(?![*\w])", r"__\1__", text)


def plain(text: str) -> str:
    """Strip inline Markdown markers (for headings, the outline and the header)."""
    return re.sub(r"\*{1,2}(.+?)\*{1,2}", r"\1", text)


class DocumentPDF(FPDF):
    """A4 document with running header, page footer and a rendered table of contents."""

    def __init__(self, short_title: str, lang: str):
        super().__init__(format="A4")
        self.short_title, self.texts = short_title, TEXTS[lang]
        self.font_family_name = self._register_fonts()
        self.set_margins(22, 22, 22)
        self.set_auto_page_break(True, margin=22)
        self.set_creation_date(FIXED_DATE)
        self.set_creator("MRDH digital-strategy knowledge base, corpus/tools/build_pdfs.py")
        self.set_producer("fpdf2")

    def _register_fonts(self) -> str:
        if all((FONT_DIR / f).exists() for f in FONT_FILES.values()):
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(FONT_DIR / name))
            return "DejaVu"
        return "Helvetica"

    def text_of(self, text: str) -> str:
        """Make text renderable in the active font (only core fonts need a mapping)."""
        if self.font_family_name == "DejaVu":
            return text
        for char, repl in FALLBACK_CHARS.items():
            text = text.replace(char, repl)
        return text.encode("latin-1", "replace").decode("latin-1")

    def use(self, style: str = "", size: float = 10.5) -> None:
        self.set_font(self.font_family_name, style, size)

    def paragraph(self, height: float, text: str, width: float = 0,
                  markdown: bool = False) -> None:
        """Left-aligned wrapped text: justified lines extract with doubled spaces."""
        self.multi_cell(width, height, text, markdown=markdown, align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the title page has no running header
        self.use("", 8.5)
        self.set_text_color(110)
        self.cell(0, 6, self.text_of(self.short_title), align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(190)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.set_text_color(0)
        self.ln(6)

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-15)
        self.use("", 8.5)
        self.set_text_color(110)
        self.cell(0, 8, self.texts["page"].format(n=self.page_no(), m="{nb}"), align="C")
        self.set_text_color(0)


def render_toc(pdf: DocumentPDF, outline: list) -> None:
    """Table of contents: chapters and sections with the page they start on."""
    pdf.use("B", 18)
    pdf.cell(0, 12, pdf.texts["toc"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    for section in outline:
        if section.level > 1:
            continue
        indent = 8 * section.level
        pdf.use("B" if section.level == 0 else "", 10.5 if section.level == 0 else 9.5)
        if section.level == 0:
            pdf.ln(1.5)
        link = pdf.add_link(page=section.page_number)
        pdf.set_x(pdf.l_margin + indent)
        pdf.cell(pdf.epw - indent - 14, 5.6, pdf.text_of(section.name), link=link)
        pdf.cell(14, 5.6, str(section.page_number), align="R", link=link,
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_table(pdf: DocumentPDF, rows: list[list[str]]) -> None:
    """Draw a pipe table as a real table; wide text columns get more room."""
    ncols = max(len(r) for r in rows)
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    lengths = [max(min(len(r[i]), 40) for r in rows) + 4 for i in range(ncols)]
    numeric = [all(re.fullmatch(r"[€\d.,%\s+-]*", plain(r[i])) for r in rows[1:])
               for i in range(ncols)]  # amounts and percentages are right-aligned
    pdf.use("", 9)
    pdf.ln(1)
    with pdf.table(col_widths=lengths, markdown=True, line_height=5.2,
                   headings_style=FontFace(emphasis="BOLD", fill_color=225),
                   cell_fill_color=245,
                   cell_fill_mode=TableCellFillMode.ROWS, borders_layout="HORIZONTAL_LINES",
                   text_align=tuple("RIGHT" if n else "LEFT" for n in numeric)) as table:
        for index, cells in enumerate(rows):
            row = table.row()
            for cell in cells:
                text = pdf.text_of(to_fpdf_markdown(cell))
                row.cell(plain(text) if index == 0 else text)
    pdf.ln(3)


def render_body(pdf: DocumentPDF, blocks: list[tuple], level_offset: int) -> None:
    """Render parsed blocks; heading level (1 + level_offset) becomes outline level 0."""
    sizes = {0: 15, 1: 12, 2: 10.5}
    for block in blocks:
        kind = block[0]
        if kind == "h":
            level = block[1] - 1 - level_offset
            if level < 0:
                continue  # the document title is already on the title page
            if level == 0 and pdf.y > pdf.t_margin + 20:
                pdf.add_page()  # chapters start on a fresh page
            elif pdf.y > pdf.h - 60:
                pdf.add_page()  # keep a heading together with its first lines
            else:
                pdf.ln(3 if level else 0)
            name = pdf.text_of(plain(block[2]))
            pdf.start_section(name, level=min(level, 2), strict=False)
            pdf.use("B", sizes.get(level, 10.5))
            pdf.paragraph(sizes.get(level, 10.5) * 0.5, name)
            pdf.ln(2)
        elif kind == "p":
            pdf.use()
            pdf.paragraph(5.4, pdf.text_of(to_fpdf_markdown(block[1])), markdown=True)
            pdf.ln(2.2)
        elif kind == "li":
            pdf.use()
            pdf.set_x(pdf.l_margin + 4)
            pdf.cell(7, 5.4, pdf.text_of(block[1]))
            pdf.paragraph(5.4, pdf.text_of(to_fpdf_markdown(block[2])), pdf.epw - 11, True)
            pdf.ln(1)
        elif kind == "table":
            render_table(pdf, block[1])


def render_document(blocks: list[tuple], meta: dict, level_offset: int,
                    toc_pages: int) -> bytes:
    """Lay out title page, table of contents (toc_pages long) and body; return PDF bytes."""
    texts = TEXTS[meta["language"]]
    pdf = DocumentPDF(meta["short_title"], meta["language"])
    pdf.set_title(meta["title"])
    pdf.set_subject(meta["subject"])
    pdf.set_author(meta["author"])
    pdf.set_keywords(meta["keywords"])
    pdf.set_lang(meta["language"])

    pdf.add_page()  # title page
    pdf.set_y(85)
    pdf.use("B", 24)
    pdf.paragraph(11, pdf.text_of(meta["title"]))
    pdf.ln(8)
    pdf.use("", 15)
    pdf.paragraph(8, pdf.text_of(meta["author_line"]))
    pdf.paragraph(8, str(meta["year"]))
    pdf.set_y(-60)
    pdf.use("I", 9)
    pdf.paragraph(5, pdf.text_of(texts["disclaimer"]))

    pdf.add_page()
    pdf.insert_toc_placeholder(render_toc, pages=toc_pages)
    render_body(pdf, blocks, level_offset)
    return bytes(pdf.output())


def build_pdf(out: Path, blocks: list[tuple], meta: dict, level_offset: int) -> None:
    """Write one PDF with a table of contents of the right length, then add document info."""
    # fpdf2 needs the exact number of ToC pages up front and fails on a mismatch, so
    # try increasing lengths instead of guessing from line heights.
    for toc_pages in range(1, 6):
        try:
            data = render_document(blocks, meta, level_offset, toc_pages)
            break
        except FPDFException as error:
            if "page break" not in str(error):
                raise
    else:
        raise RuntimeError(f"table of contents of {out.name} does not fit on 5 pages")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    # fpdf2 cannot set custom info keys, so add them with pypdf afterwards.
    writer = PdfWriter(clone_from=str(out))
    writer.add_metadata({"/Municipality": meta["municipality"], "/Language": meta["language"]})
    with out.open("wb") as handle:
        writer.write(handle)


def build_strategies(names: dict[str, str]) -> dict:
    """Render each strategy source; return the coverage mapping for coverage.yaml."""
    coverage = {}
    for src in sorted((CORPUS / "strategies" / "src").glob("*.md")):
        front, body = split_front_matter(src.read_text(encoding="utf-8"))
        lang, mid = front["language"], front["municipality"]
        name = names.get(mid, mid)
        texts = TEXTS[lang]
        title = front["title"]
        short = front.get("short_title") or re.split(r"[:–]", title)[0].strip()
        meta = {"title": title, "short_title": f"{short} | {name}", "language": lang,
                "year": front["year"], "municipality": mid, "author": name,
                "author_line": f"{texts['municipality']} {name}",
                "subject": texts["subject"].format(name=name),
                # Deliberately not the coverage lists: they are the ground truth for checks.
                "keywords": front.get("keywords") or ", ".join(
                    ["digitale strategie" if lang == "nl" else "digital strategy",
                     name, "MRDH", str(front["year"])])}
        out = CORPUS / "strategies" / f"{src.stem}.pdf"
        build_pdf(out, parse_blocks(body), meta, level_offset=1)
        cov = front.get("coverage", {})
        coverage[out.name] = {"municipality": mid, "language": lang,
                              **{k: list(cov.get(k) or []) for k in ("covered", "weak", "missing")}}
        print(f"built {out.relative_to(CORPUS.parent)}")
    return coverage


def build_guide() -> None:
    """Render all guide chapters, in file order, into one PDF."""
    chapters = sorted((CORPUS / "guide").glob("[0-9][0-9]-*.md"))
    if not chapters:
        return
    body = "\n\n".join(p.read_text(encoding="utf-8") for p in chapters)
    meta = {"title": "Digital Strategy Guide", "short_title": "Digital Strategy Guide | MRDH",
            "language": "en", "year": FIXED_DATE.year, "municipality": "regional",
            "author": "MRDH (region-wide)",
            "author_line": "Metropolitan Region Rotterdam The Hague (MRDH)",
            "subject": "Guide for municipal digital strategies in the MRDH region",
            "keywords": "digital strategy, MRDH, value chain, building blocks, municipalities"}
    out = CORPUS / "guide" / "pdf" / "digital-strategy-guide.pdf"
    build_pdf(out, parse_blocks(body), meta, level_offset=0)
    print(f"built {out.relative_to(CORPUS.parent)}")


def main() -> int:
    coverage = build_strategies(load_municipality_names())
    header = "# Generated by corpus/tools/build_pdfs.py from the strategies' front matter.\n"
    (CORPUS / "strategies" / "coverage.yaml").write_text(
        header + yaml.safe_dump({"strategies": coverage}, sort_keys=False,
                                allow_unicode=True, default_flow_style=None, width=1000),
        encoding="utf-8")
    build_guide()
    return 0


if __name__ == "__main__":
    sys.exit(main())
