"""Answers, sources and cards as Markdown and HTML. Document text is data, never markup:
always escaped."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from kb.text import question_words
from ui.i18n import DEFAULT, stage_name, t

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
_CITATION = re.compile(r"\\\[(\d+)\\\](?!:)")  # never "[n]:", a link reference definition
_BOLD = re.compile(r"\\\*\\\*(?=\S)(.+?)(?<=\S)\\\*\\\*")  # an escaped **pair** on one line


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


def where(source: dict, lang: str = DEFAULT) -> str:
    if source.get("page"):
        return t("page", lang, page=source["page"])
    section = source.get("section") or ""
    return "" if section == source.get("title") else section  # a record's one section


def composed_markdown(text: str) -> str:
    """The composer's Markdown made safe: everything escaped, then only its own structure
    restored: `**bold**` pairs, the `[n]` citation markers (list markers `- ` at a line's
    start survive escaping). Brackets, `<` and backticks from the documents stay escaped,
    so document text can never form a link, a link reference, HTML or code."""
    return _CITATION.sub(r"[\1]", _BOLD.sub(r"**\1**", esc(text)))


def answer_markdown(answer: dict, lang: str = DEFAULT) -> str:
    """The chat reply: the answer with its [n] markers only. Sources, building blocks and
    projects have their own places (the sources panel and the cards), never repeated here."""
    parts = [composed_markdown(answer["answer"])]
    if not answer["answered"] and answer.get("nearest_topics"):
        parts.append(f"**{t('nearest', lang)}:** "
                     + "; ".join(esc(x) for x in answer["nearest_topics"]))  # fmt: skip
    return "\n\n".join(parts)


def sources_markdown(answer: dict, question: str, lang: str = DEFAULT) -> str:
    """The numbered sources with their passages, the question's words in bold."""
    if not answer["sources"]:
        return t("no_sources", lang)
    words = question_words(question)
    lines = []
    for s in answer["sources"]:
        place = f" — {esc(where(s, lang))}" if where(s, lang) else ""
        lines.append(f"**[{s['n']}] {esc(s['title'])}**{place} ({esc(s['source'])})  \n"
                     f"> {highlight(s['snippet'], words)}")  # fmt: skip
    return "\n\n".join(lines)


def source_choices(answer: dict, lang: str = DEFAULT) -> list[tuple[str, str]]:
    """The picker's entries: '[n] title, p. 3' for the value n."""
    return [(f"[{s['n']}] {s['title'][:70]}, {where(s, lang)}".rstrip(", "), str(s["n"]))
            for s in answer["sources"]]  # fmt: skip


def _card(title: str, lines: list[str], tag: str = "", href: str = "") -> str:
    tag_html = f' <span class="kb-tag">{html.escape(tag)}</span>' if tag else ""
    name = html.escape(title)
    if href:
        name = f'<a href="{html.escape(href)}" target="_blank" rel="noopener">{name}</a>'
    body = " — ".join(html.escape(line) for line in lines if line)
    body = f"<p>{body}</p>" if body else ""
    return f'<li class="kb-card"><h3 class="kb-card-title">{name}{tag_html}</h3>{body}</li>'


def cards_html(answer: dict, question: str = "", lang: str = DEFAULT,
               municipality_name=lambda m: m or "") -> str:  # fmt: skip
    """The answer's building blocks and comparable projects as cards (HTML, all escaped),
    each project linking to its detail (`?project=ID`), and the link to this question."""
    parts = []
    if answer.get("building_blocks"):
        parts.append(f"<h2>{t('cards_blocks', lang)}</h2><ul class='kb-cards'>")
        parts += [_card(b["name"], [], stage_name(b.get("stage"), lang))
                  for b in answer["building_blocks"]]  # fmt: skip
        parts.append("</ul>")
    if answer.get("projects"):
        parts.append(f"<h2>{t('cards_projects', lang)}</h2><ul class='kb-cards'>")
        parts += [_card(p["title"], [municipality_name(p.get("municipality")),
                                     p.get("summary", "")], href=f"?project={quote(p['id'])}")
                  for p in answer["projects"]]  # fmt: skip
        parts.append("</ul>")
    if question:
        href = f"?q={quote(question)}" + ("&lang=en" if lang == "en" else "")
        parts.append(f'<p class="kb-share"><a href="{html.escape(href)}">'
                     f"{t('share_question', lang)}</a></p>")  # fmt: skip
    return f'<div class="kb-side">{"".join(parts)}</div>' if parts else ""


# Colours checked for WCAG AA contrast (4.5:1 for text) on white and on Gradio's dark grey:
# Gradio's orange accent and its subdued greys fall below it, so they are replaced here.
APP_CSS = """
body, body.dark, .dark, .gradio-container {
  --color-accent: #1d4ed8; --color-accent-soft: #dbeafe;
  --button-primary-background-fill: #1d4ed8; --button-primary-background-fill-hover: #1e3a8a;
  --button-primary-border-color: #1d4ed8; --button-primary-border-color-hover: #1e3a8a;
  --button-primary-text-color: #ffffff; --button-primary-text-color-hover: #ffffff;
  --body-text-color-subdued: #4b5563; --block-info-text-color: #4b5563;
  --link-text-color: #1d4ed8; --link-text-color-hover: #1e3a8a;
}
body.dark, .dark { --body-text-color-subdued: #d1d5db; --block-info-text-color: #d1d5db;
  --link-text-color: #93c5fd; --color-accent-soft: #1e3a8a; }
.subdued, .or, .show-api, .built-with, .settings, footer a, footer button, footer span {
  color: var(--body-text-color) !important; opacity: 1 !important; }
button[role=tab].selected, .overflow-dropdown button.selected { color: #1d4ed8 !important; }
.dark button[role=tab].selected, .dark .overflow-dropdown button.selected {
  color: #93c5fd !important; }
#kb-heading h1 {font-size: 1.6em; margin: 0.2em 0;}
@media (max-width: 640px) {
  #kb-top {flex-direction: column;}
  #kb-heading h1 {font-size: 1.25em;}
}
.kb-cards {list-style: none; padding: 0; margin: 0;}
.kb-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
          margin: 6px 0; font-size: 0.95em;}
.kb-card p {margin: 2px 0;}
h3.kb-card-title {font-weight: 600; margin: 0 0 2px 0; font-size: 1em;}
.kb-tag {font-weight: 400; font-size: 0.85em; margin-left: 6px; padding: 1px 6px;
         border-radius: 6px; background: var(--background-fill-secondary);}
.kb-side h2 {font-size: 1.05em; margin: 8px 0 4px 0;}
#project-detail h2, #ov-evidence h2, #viewer-text h2 {font-size: 1.2em;}
#kb-status {min-height: 1.4em; margin: 4px 0; font-weight: 600;}
#kb-status[data-state=working]::before {content: "⏳ ";}
.kb-viewer {margin: 0;}
.kb-page {max-height: 72vh; overflow: auto; border: 1px solid var(--border-color-primary);}
.kb-page:focus {outline: 3px solid #1d4ed8; outline-offset: 2px;}
.kb-page-inner {position: relative;}
.kb-page-inner img {width: 100%; height: auto; display: block;}
.kb-anchor {position: absolute; left: 0; width: 1px; height: 1px;}
.kb-ov-legend {font-size: 0.95em;}
#chat .bot-row:focus, #chat .message-row:focus {outline: 3px solid #1d4ed8; outline-offset: 2px;}
a:focus-visible, button:focus-visible, [tabindex]:focus-visible {outline: 3px solid #1d4ed8;
  outline-offset: 2px;}
"""
