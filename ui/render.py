"""Answers and tables as Markdown. Document text is data, never markup: always escaped."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from index.lexical import STOPWORDS

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


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
    words = {w.lower() for w in re.findall(r"\w+", question)} - STOPWORDS
    parts = [esc(answer["answer"]).replace("\\[", "[").replace("\\]", "]")]
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
            f"{esc(b['name'])} ({esc(b['stage'] or '')})" for b in answer["building_blocks"]))  # fmt: skip
    if answer["projects"]:
        parts.append("**Comparable projects:** " + " · ".join(
            f"{esc(p['title'])} ({esc(p['municipality'] or '')})" for p in answer["projects"]))  # fmt: skip
    return "\n\n".join(parts)
