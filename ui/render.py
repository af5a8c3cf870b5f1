"""Answers and tables as Markdown. Document text is data, never markup: always escaped."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from kb.text import question_words

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
_CITATION = re.compile(r"\\\[(\d+)\\\](?!:)")  # never "[n]:", a link reference definition


def esc(text: str | None) -> str:
    """Escape text from documents for Markdown: no HTML, links or emphasis can come through."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text or "", quote=False))


def highlight(snippet: str, words: set[str]) -> str:
    """Escaped snippet with the question's words in bold."""
    out = []
    for token in re.split(r"(\W+)", snippet):
        piece = esc(token)
        out.append(f"**{piece}**" if token.lower() in words and len(token) > 2 else piece)
    return "".join(out)


def file_link(home: str, stored_path: str | None, page: int | None) -> str:
    if not stored_path:
        return ""
    url = "/gradio_api/file=" + quote(f"{home}/{stored_path}")
    if page:
        url += f"#page={page}"
    return f" · [open]({url})"


def answer_markdown(answer: dict, links: dict[str, str], question: str) -> str:
    words = question_words(question)
    # Only the [n] citation markers are un-escaped: brackets from the documents stay escaped,
    # so document text can never form a Markdown link or link reference.
    parts = [_CITATION.sub(r"[\1]", esc(answer["answer"]))]
    if not answer["answered"] and answer.get("nearest_topics"):
        parts.append("**Nearest topics:** " + "; ".join(esc(t) for t in answer["nearest_topics"]))
    if answer["sources"]:
        parts.append("**Sources**")
        for s in answer["sources"]:
            where = f"p. {s['page']}" if s.get("page") else esc(s.get("section") or "")
            link = links.get(f"{s['document_id']}:{s.get('page')}", "")
            parts.append(
                f"[{s['n']}] **{esc(s['title'])}** — {where} ({esc(s['source'])}){link}  \n"
                f"> {highlight(s['snippet'], words)}"
            )
    if answer["building_blocks"]:
        parts.append("**Building blocks:** " + " · ".join(
            f"{esc(b['name'])} ({esc(b['stage'] or '')})"
            for b in answer["building_blocks"]))  # fmt: skip
    if answer["projects"]:
        parts.append("**Comparable projects:** " + " · ".join(
            f"{esc(p['title'])} ({esc(p['municipality'] or '')})"
            for p in answer["projects"]))  # fmt: skip
    return "\n\n".join(parts)


def _card(title: str, lines: list[str], tag: str = "") -> str:
    tag_html = f'<span class="kb-tag">{html.escape(tag)}</span>' if tag else ""
    body = "".join(f"<div>{html.escape(line)}</div>" for line in lines if line)
    return (
        f'<div class="kb-card"><div class="kb-card-title">{html.escape(title)}{tag_html}</div>'
        f"{body}</div>"
    )


def cards_html(answer: dict, municipality_name=lambda m: m or "") -> str:
    """The answer's building blocks and comparable projects as compact cards (HTML, all escaped)."""
    parts = []
    if answer.get("building_blocks"):
        parts.append("<h4>Building blocks</h4>")
        parts += [_card(b["name"], [], b.get("stage") or "") for b in answer["building_blocks"]]
    if answer.get("projects"):
        parts.append("<h4>Comparable projects</h4>")
        parts += [_card(p["title"], [municipality_name(p.get("municipality")),
                                     p.get("summary", "")])
                  for p in answer["projects"]]  # fmt: skip
    return f'<div class="kb-cards">{"".join(parts)}</div>' if parts else ""


CARD_CSS = """
.kb-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
          margin: 6px 0; font-size: 0.9em;}
.kb-card-title {font-weight: 600; margin-bottom: 2px;}
.kb-tag {font-weight: 400; font-size: 0.8em; margin-left: 6px; padding: 1px 6px; border-radius: 6px;
         background: var(--background-fill-secondary);}
"""
