"""An answer with its sources as Markdown, to copy or download (`kb ask --markdown`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from kb.answer import Answer, Source

LABELS = {
    "nl": {"searched": "Ik zocht naar", "sources": "Bronnen", "page": "p.", "section": "sectie",
           "blocks": "Bouwstenen", "projects": "Projecten", "no_link": "geen bestand"},
    "en": {"searched": "I searched for", "sources": "Sources", "page": "p.", "section": "section",
           "blocks": "Building blocks", "projects": "Projects", "no_link": "no file"},
}  # fmt: skip

FileLinks = Mapping[str, str] | Callable[[Source], str | None] | None


def _escape(text: str) -> str:
    """Text safe inside Markdown link text and list items."""
    # `<` would open raw HTML; `>` only quotes at the start of a line, where it never is here.
    return re.sub(r"([\\\[\]*_`<])", r"\\\1", " ".join(text.split()))


def _link(source: Source, file_links: FileLinks) -> str | None:
    if file_links is None:
        return None
    if callable(file_links):
        url = file_links(source)
    else:
        url = file_links.get(source.document_id)
    if not url:
        return None
    # A PDF viewer opens `file.pdf#page=N` at that page.
    return f"{url}#page={source.page}" if source.page is not None else url


def answer_markdown_export(answer: Answer, file_links: FileLinks = None) -> str:
    """The answer as Markdown: the question, what was searched, the answer text, then every
    source numbered as cited, with a link to its file (at the page, for a PDF) and the
    section it comes from.

    Args:
        file_links: the URL (or path) of each source's file, by document id, or a function
            of the `Source`; a source without one is listed without a link.
    """
    lg = answer.language if answer.language in LABELS else "en"
    t = LABELS[lg]
    lines = [f"## {_escape(answer.question)}", ""]
    if answer.resolved_question and answer.resolved_question != answer.question:
        lines += [f"*{t['searched']}: {_escape(answer.resolved_question)}*", ""]
    lines += [answer.answer.strip(), ""]
    if answer.note:
        lines += [f"> {_escape(answer.note)}", ""]
    if answer.building_blocks:
        names = ", ".join(_escape(b.name) for b in answer.building_blocks)
        lines += [f"**{t['blocks']}:** {names}", ""]
    if answer.sources:
        lines += [f"### {t['sources']}", ""]
    for s in answer.sources:
        where = ""
        if s.page is not None:
            where = f", {t['page']} {s.page}"
        title = _escape(s.title) + where
        url = _link(s, file_links)
        head = f"[{title}](<{url}>)" if url else title
        extra = []
        if s.section and s.section != s.title:
            extra.append(f"{t['section']}: {_escape(s.section)}")
        if s.municipality:
            extra.append(_escape(s.municipality))
        tail = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"{s.n}. {head}{tail}")
        if s.snippet:
            lines.append(f"   > {_escape(s.snippet)}")
    return "\n".join(lines).rstrip() + "\n"
