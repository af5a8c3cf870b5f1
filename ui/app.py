"""The web app: Ask, Projects, the region at a glance, Map, Collaborations, Check and
Documents tabs in Dutch and English, and a stable API for gradio_client.

Handlers take the interface language as their last argument (`lang`, "nl" or "en"), so
that a later argument such as the caller's `gr.Request` can follow it.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import pandas as pd

from kb.access import AccessDenied
from kb.catalogue import STAGES, STATUSES
from kb.core import KnowledgeBase
from kb.export import answer_markdown_export
from kb.records import IngestResult
from kb.text import slugify
from ui import check_tab, overview_tab, regional_tab
from ui.access import building_page, file_url, viewer_for
from ui.i18n import DEFAULT, Labels, lang_of, stage_name, status_name, t
from ui.render import (
    APP_CSS,
    answer_markdown,
    cards_html,
    esc,
    source_choices,
    sources_markdown,
)
from ui.viewer import page_html, render_page

KINDS = ["", "guide", "strategy", "project", "other"]
EXPORTS_KEPT = 20
PROJECT_COLUMNS = ["title", "municipality", "stage", "status", "score", "why", "id"]
DOCUMENT_COLUMNS = ["title", "kind", "municipality", "language", "pages", "chunks", "added",
                    "id", "visibility"]  # fmt: skip
# The title and the reason get the room; short codes and numbers only enough to stay on
# one line (with wrap=True a long title wraps instead of pushing 'why' out of sight).
PROJECT_WIDTHS = ["28%", "11%", "10%", "10%", "6%", "25%", "10%"]
# The title gets the room; short codes and numbers need only enough to stay on one line.
DOCUMENT_WIDTHS = ["30%", "10%", "12%", "6%", "7%", "7%", "10%", "10%", "8%"]
VISIBILITY = ["regional", "municipality"]
TURNS_KEPT = 5  # the earlier turns a follow-up may lean on
EXAMPLES = ["ex1", "ex2", "ex3", "ex4"]
# What the Documents tab accepts; the loader decides the type by content anyway.
UPLOAD_TYPES = [".pdf", ".md", ".docx", ".odt", ".pptx", ".xlsx", ".ods", ".txt", ".rtf", ".html",
                ".htm", ".csv", ".yaml", ".yml"]

# The browser side, kept small: the language from ?lang=, the last choice or the browser;
# the live status line; scrolling to the start of the new answer and focusing it.
HEAD = """
<script>
window.kbLang = function () {
  const p = new URLSearchParams(location.search).get('lang');
  const l = p || localStorage.getItem('kb-lang') || navigator.language || 'nl';
  return l.slice(0, 2).toLowerCase() === 'en' ? 'en' : 'nl';
};
window.kbSay = function (key) {
  const s = document.getElementById('kb-status');
  if (s) { s.textContent = s.dataset[key] || ''; s.dataset.state = key; }
};
window.kbShowAnswer = function () {
  window.kbAnswerAt = performance.now();  // measured by tests/test_a11y.py
  const rows = document.querySelectorAll('#chat .message-row.bot-row, #chat .bot-row');
  const last = rows[rows.length - 1];
  window.kbSay('ready');
  if (!last) return;
  last.setAttribute('tabindex', '-1');
  last.scrollIntoView({block: 'start'});
  // The chat's own scroll box put the answer under its label: leave room for it.
  for (let el = last.parentElement; el && el !== document.body; el = el.parentElement) {
    const y = getComputedStyle(el).overflowY;
    if ((y === 'auto' || y === 'scroll') && el.scrollHeight > el.clientHeight) {
      el.scrollTop = Math.max(0, el.scrollTop - 48);
      break;
    }
  }
  // And the page: the chat box at the top of the window, the answer's start just below.
  const box = document.getElementById('chat');
  if (box) window.scrollBy(0, box.getBoundingClientRect().top - 8);
  last.focus({preventScroll: true});
};
// Gradio's empty placeholders carry an aria-label on a plain div (not allowed without a
// role): they are pictures of "nothing yet", so they get the role of an image.
new MutationObserver(function () {
  document.querySelectorAll('div.empty[aria-label]:not([role])').forEach(function (e) {
    e.setAttribute('role', 'img');
  });
  // The footer's settings icon repeats its link text as alt text: it is decoration.
  document.querySelectorAll('footer img[alt]:not([alt=""])').forEach(function (e) {
    e.setAttribute('alt', '');
  });
}).observe(document.documentElement, {childList: true, subtree: true});
window.kbShowMark = function () {
  const a = document.querySelector('#viewer .kb-anchor');
  const frame = document.querySelector('#viewer .kb-page');
  if (a && frame) frame.scrollTop = Math.max(0, a.offsetTop - frame.clientHeight / 3);
};
</script>
"""
LANG_JS = """(l) => { document.documentElement.lang = l; localStorage.setItem('kb-lang', l);
return l; }"""
ASK_JS = """(...args) => { window.kbAskAt = performance.now(); window.kbSay('working');
return args; }"""


def _drop_uploads(paths) -> None:
    """Delete Gradio's temporary copies of uploaded files once ingested: the store keeps its
    own copy under KB_HOME/files. Files outside Gradio's upload folder are left alone."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    for p in paths:
        path = Path(p).resolve()
        if folder not in path.parents or not path.is_file():
            continue
        path.unlink(missing_ok=True)
        if path.parent != folder:
            try:
                path.parent.rmdir()  # the per-upload folder, when now empty
            except OSError:
                pass


def _turns(history: list | str | None) -> list[dict]:
    """The earlier turns as given to `/ask`: a list of `turn` dicts, or that list as JSON
    text (what a form field or an older client can send); anything else counts as none."""
    if isinstance(history, str):
        try:
            history = json.loads(history) if history.strip() else []
        except ValueError:
            return []
    return [h for h in history or [] if isinstance(h, dict)][-TURNS_KEPT:]


def _base_url(request: gr.Request | None) -> str:
    """The app's address as the browser sees it, so that links in a downloaded file work
    outside the page ('' when unknown: the links stay relative)."""
    try:
        return str(request.base_url).rstrip("/") if request is not None else ""  # type: ignore[union-attr]
    except (AttributeError, KeyError):
        return ""


def _keep_export(folder: Path, prefix: str, suffix: str, text: str) -> Path:
    """`text` as a file named by its content under `folder`; only the newest EXPORTS_KEPT of
    that prefix stay (no temporary folder per request)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}{suffix}"
    path.write_text(text, encoding="utf-8")
    old = sorted(folder.glob(f"{prefix}-*{suffix}"), key=lambda p: p.stat().st_mtime)
    for stale in old[:-EXPORTS_KEPT]:
        stale.unlink(missing_ok=True)
    return path


def _columns(keys: list[str], lang: str) -> list[str]:
    return [t(f"col_{k}", lang) for k in keys]


class Handlers:
    """The app's functions, each a thin call into the KnowledgeBase (tested directly)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def viewer(self, request: gr.Request | None):
        """Whom a request acts for (ui/access.py): every handler passes it to the core."""
        return viewer_for(self.kb, request)

    def _ingest_uploads(self, files, municipality: str, kind: str,
                        each=lambda i, n, name: None, visibility: str = "regional",
                        request: gr.Request | None = None) -> list:  # fmt: skip
        """Ingest uploaded files under a stable name: a file uploaded again with the same
        name for the same municipality replaces its earlier version instead of adding a
        duplicate. Returns (uploaded name, result) pairs."""
        viewer = self.viewer(request)
        if not viewer.sees_all:  # an editor uploads for their own municipality
            municipality = viewer.municipality
        staging = self.kb.home / "incoming" / (slugify(municipality) or "unassigned")
        out = []
        paths = [Path(f) for f in files or []]
        for i, p in enumerate(paths):
            each(i, len(paths), p.name)
            target = staging / (re.sub(r"[^\w.\- ]+", "_", p.name).lstrip(". ")[-120:] or "upload")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, target)
            except OSError as e:
                reason = f"cannot read ({e.strerror or e})"
                out.append((p.name, IngestResult(p.name, "failed", reason)))
                continue
            try:
                for r in self.kb.ingest(
                    [target], municipality=municipality or None, kind=kind or None,
                    visibility=visibility or "regional", viewer=viewer,
                ):  # fmt: skip
                    name = r.name.replace(str(target), p.name)
                    out.append((p.name, dataclasses.replace(r, name=name)))
            except (AccessDenied, ValueError) as e:
                out.append((p.name, IngestResult(p.name, "failed", str(e))))
            finally:
                target.unlink(missing_ok=True)
        for folder in (staging, staging.parent):
            try:
                folder.rmdir()
            except OSError:
                pass
        _drop_uploads(paths)
        return out

    # API: the same JSON shapes as the CLI's --json
    def ask(self, question: str, municipality: str = "", kind: str = "", k: int = 5,
            building_block: str = "", history: list | str | None = None,
            request: gr.Request = None) -> dict:  # fmt: skip
        """API: the answer as `kb ask --json`. `history`: the `turn` of each earlier answer,
        oldest first (a list, or the same as JSON text), so that a follow-up is understood."""
        return self.answer(question, municipality, kind, k, building_block, history,
                           request).to_dict()  # fmt: skip

    def answer(self, question: str, municipality: str = "", kind: str = "", k: int = 5,
               building_block: str = "", history: list | str | None = None,
               request: gr.Request = None):  # fmt: skip
        """The `Answer` itself (the chat renders it and offers it as Markdown)."""
        return self.kb.ask(question, municipality=municipality or None, kind=kind or None,
                           k=int(k), building_block=building_block or None,
                           history=_turns(history) or None,
                           viewer=self.viewer(request))  # fmt: skip

    def similar(self, text: str = "", project_id: str = "", exclude_municipality: str = "",
                k: int = 5, themes: list[str] | None = None, stage: str = "",
                status: str = "", request: gr.Request = None) -> dict:  # fmt: skip
        res = self.similar_projects(text, project_id, exclude_municipality, k, themes, stage,
                                    status, request)  # fmt: skip
        return {"query": text or project_id, "results": [asdict(r) for r in res]}

    def similar_projects(self, text, project_id, exclude, k, themes, stage, status,
                         request: gr.Request | None = None):  # fmt: skip
        return self.kb.similar(text=text or None, project_id=project_id or None,
                               exclude_municipality=exclude or None, k=int(k),
                               themes=themes or None, stage=stage or None,
                               status=status or None, viewer=self.viewer(request))  # fmt: skip

    def stats(self, request: gr.Request = None) -> dict:
        return self.kb.stats(self.viewer(request))

    def ingest(self, files: list[str] | None, municipality: str = "", kind: str = "",
               visibility: str = "regional", request: gr.Request = None) -> dict:  # fmt: skip
        results = [r for _, r in self._ingest_uploads(files, municipality, kind,
                                                      visibility=visibility, request=request)]
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {"results": [asdict(r) for r in results], "counts": counts}

    # ---- Ask --------------------------------------------------------------------------------
    def chat(self, question: str, history: list, municipality: str = "", kind: str = "",
             block: str = "", turns: list | None = None, lang: str = DEFAULT,
             request: gr.Request = None):  # fmt: skip
        """One question: the chat with the answer added, and the sources panel. `turns` are
        the earlier answers' `turn`s, so that a follow-up ("En in Delft?") is understood.

        Returns (history, cleared question box, sources Markdown, cards HTML, the source
        picker, the sources kept for the viewer, the sources accordion, the turns kept, the
        answer as a Markdown file): the last of what `chat_stream` yields.
        """
        *_, last = self.chat_stream(question, history, municipality, kind, block, turns,
                                    lang, request)  # fmt: skip
        return last

    def chat_stream(self, question: str, history: list, municipality: str = "",
                    kind: str = "", block: str = "", turns: list | None = None,
                    lang: str = DEFAULT, request: gr.Request = None):  # fmt: skip
        """`chat` as the answer is written: with a language model configured, the sources
        first and the answer's text growing a checked sentence at a time; the turns and
        the Markdown download come with the finished answer (gr.skip() until then)."""
        if not (question or "").strip():
            yield (gr.skip(),) * 9
            return
        earlier = list(history or []) + [{"role": "user", "content": esc(question)}]

        def chat(answer: dict) -> list:
            return earlier + [{"role": "assistant", "content": self._reply(answer, question,
                                                                           lang)}]  # fmt: skip

        answers = iter(self.kb.ask_stream(
            question, municipality=municipality or None, kind=kind or None,
            building_block=block or None, history=_turns(turns) or None,
            viewer=self.viewer(request),
        ))  # fmt: skip
        found, shown = next(answers), 0
        for following in answers:  # `found` is still being written
            answer = self._shown(found)
            if shown:
                yield (chat(answer),) + (gr.skip(),) * 8
            else:
                yield (chat(answer), "", *self._panels(answer, question, lang), gr.skip(),
                       gr.skip())  # fmt: skip
            found, shown = following, shown + 1
        kept_turns = (list(turns or []) + [found.turn])[-TURNS_KEPT:] if found.turn else turns
        answer = self._shown(found)
        # The box was cleared with the first part: a question typed since then stays.
        yield (chat(answer), gr.skip() if shown else "", *self._panels(answer, question, lang),
               kept_turns or [], str(self._export_answer(found, request)))  # fmt: skip

    def _shown(self, found) -> dict:
        """The answer as a dict, with municipality names for display."""
        answer = found.to_dict()
        for ref in answer["projects"]:
            ref["municipality"] = self.kb.municipality_name(ref["municipality"])
        return answer

    @staticmethod
    def _reply(answer: dict, question: str, lang: str) -> str:
        """The chat message: what was searched, the answer (or 'writing …') and the note."""
        if answer["written_by"] == "llm" and not answer["answer"]:
            reply = f"*{t('writing', lang)}*"
        else:
            reply = answer_markdown(answer, lang)
        if answer.get("resolved_question") and answer["resolved_question"] != question:
            reply = f"*{t('searched', lang, q=esc(answer['resolved_question']))}*\n\n{reply}"
        if answer.get("note"):
            reply += f"\n\n*{esc(answer['note'])}*"
        return reply

    @staticmethod
    def _panels(answer: dict, question: str, lang: str) -> tuple:
        """The sources Markdown, cards, source picker, sources kept and sources accordion."""
        # Nothing twice: the composed answer lists its projects already; the cards keep
        # only the others (each with its link to the detail).
        side = dict(answer, projects=[p for p in answer["projects"]
                                      if p["title"] not in answer["answer"]])  # fmt: skip
        return (
            sources_markdown(answer, question, lang),
            cards_html(side, question, lang),
            gr.update(choices=source_choices(answer, lang), value=None),
            answer["sources"],
            gr.update(label=t("sources_n", lang, n=len(answer["sources"])), open=False),
        )

    def _export_answer(self, answer, request: gr.Request | None) -> Path:
        """The answer and its sources as Markdown under KB_HOME/exports (named by content,
        only the newest EXPORTS_KEPT kept), each source linked to its file at the page."""
        viewer = self.viewer(request)
        base = _base_url(request)

        def link(source) -> str | None:
            doc = self.kb.document(source.document_id, viewer)
            return base + file_url(doc.id) if doc and doc.stored_path else None

        text = answer_markdown_export(answer, link)
        return _keep_export(self.kb.home / "exports", "answer", ".md", text)

    def open_source(self, n, sources: list | None, lang: str = DEFAULT,
                    request: gr.Request = None):  # fmt: skip
        """The chosen source in the viewer: a PDF page with the passage marked, else the
        Markdown section or the project record. Returns (page HTML, text Markdown)."""
        src = next((s for s in sources or [] if str(s.get("n")) == str(n)), None)
        if src is None:
            return "", ""
        if src.get("project_id"):
            return "", self.project_detail(src["project_id"], lang=lang, request=request)
        doc = self.kb.document(src["document_id"], self.viewer(request))
        if doc is None:
            return "", t("no_document", lang)
        head = f"## [{src['n']}] {esc(src['title'])}"
        path = (self.kb.home / doc.stored_path) if doc.stored_path else None
        if src.get("page") and path and path.suffix.lower() == ".pdf" and path.is_file():
            try:
                r = render_page(path, int(src["page"]), src.get("snippet", ""))
            except ValueError as e:
                return "", f"{head}\n\n{esc(str(e))}"
            alt = t("viewer_alt", lang, page=r.page, title=src["title"])
            # through the route that checks the viewer again (ui/access.py)
            link = file_url(doc.id, r.page)
            pages = esc(t("page_of", lang, page=r.page, pages=r.pages))
            download = f'<a href="{link}" download>{t("download", lang)}</a>'
            caption = f"{pages} · {download}"
            note = ("" if r.found else
                    f"\n\n{t('passage_not_found', lang)}\n\n> {esc(src['snippet'])}")
            return page_html(r, alt, caption), head + note
        # A Markdown document (or a PDF without its file): the whole section, passage marked.
        section = src.get("section")
        parts = [c.text for c in self.kb.store.chunks_of(doc.id)
                 if section is None or c.section == section]  # fmt: skip
        body = _mark(_merge(parts).replace("**", ""), src.get("snippet", ""))
        where = f" — {esc(section)}" if section else ""
        return "", f"{head}{where}\n\n{body}"

    # ---- Projects ----------------------------------------------------------------------------
    def project_table(self, text: str, project_id: str, exclude: str,
                      themes: list[str] | None = None, stage: str = "",
                      status: str = "", lang: str = DEFAULT,
                      request: gr.Request = None):  # fmt: skip
        """The comparable projects (a table with the columns in `lang`), the first one's
        detail and the CSV export."""
        empty = pd.DataFrame([], columns=_columns(PROJECT_COLUMNS, lang))
        if not (text or "").strip() and not project_id:
            return empty, t("need_text", lang), None
        try:
            res = self.similar_projects(text, project_id, exclude, 10, themes, stage, status,
                                        request)  # fmt: skip
        except KeyError as e:
            return empty, esc(str(e.args[0])), None
        rows = [[r.title, self.kb.municipality_name(r.municipality), stage_name(r.stage, lang),
                 status_name(r.status, lang), round(r.score, 2), self._why(r, lang), r.id]
                for r in res]  # fmt: skip
        detail = (self.project_detail(res[0].id, rows[0][5], lang, request) if res
                  else t("no_projects", lang))  # fmt: skip
        frame = pd.DataFrame(rows, columns=_columns(PROJECT_COLUMNS, lang))
        return frame, detail, str(self._export_csv(rows))

    def _why(self, r, lang: str) -> str:
        """Why a project matches, in `lang`: shared blocks and themes, matching words."""
        blocks = self.kb.building_blocks()
        parts = []
        if r.shared_building_blocks:
            parts.append(t("why_blocks", lang, names=", ".join(
                blocks.get(b, {}).get("name", b) for b in r.shared_building_blocks)))  # fmt: skip
        if r.shared_themes:
            parts.append(t("why_themes", lang, names=", ".join(r.shared_themes)))
        if r.matching_words:
            parts.append(t("why_words", lang, names=", ".join(r.matching_words)))
        score = f"{r.score:.2f}".replace(".", ",") if lang_of(lang) == "nl" else f"{r.score:.2f}"
        return "; ".join(parts) or t("why_similar", lang, score=score)

    def _export_csv(self, rows: list[list]) -> Path:
        """The rows as a CSV under KB_HOME/exports, named by content: the same list is one
        file, and only the newest EXPORTS_KEPT stay (no temporary folder per search)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(PROJECT_COLUMNS)
        w.writerows(rows)
        return _keep_export(self.kb.home / "exports", "comparable-projects", ".csv",
                            buf.getvalue())  # fmt: skip

    def project_detail(self, project_id: str, why: str = "", lang: str = DEFAULT,
                       request: gr.Request = None) -> str:  # fmt: skip
        """A project record as Markdown, with the link that opens it (`?project=ID`)."""
        p = self.kb.project(project_id, self.viewer(request))
        if p is None:
            return t("unknown_project", lang, id=esc(project_id)) if project_id else ""
        blocks = self.kb.building_blocks()
        lines = [
            f"## {esc(p['title'])}",
            f"**{esc(self.kb.municipality_name(p['municipality']))}** · "
            f"{t('d_stage', lang)}: {esc(stage_name(p['stage'], lang))} · "
            f"{t('d_status', lang)}: {esc(status_name(p['status'], lang))} · "
            f"{t('d_since', lang, year=p['start_year'])}",
            esc(p.get("summary", "")),
            f"**{t('d_blocks', lang)}:** " + esc(", ".join(
                blocks.get(b, {}).get("name", b)
                for b in p.get("building_blocks", []))),  # fmt: skip
            f"**{t('d_themes', lang)}:** " + esc(", ".join(p.get("themes", []))),
        ]
        if p.get("partners"):
            lines.append(f"**{t('d_partners', lang)}:** " + esc(", ".join(p["partners"])))
        if why:
            lines.append(f"**{t('d_why', lang)}:** {esc(why)}")
        lines.append(f"[{t('project_link', lang)}](?project={quote(project_id)})")
        return "\n\n".join(lines)

    def select_project(self, rows, evt: gr.SelectData, lang: str = DEFAULT,
                       request: gr.Request = None):  # fmt: skip
        """Show the clicked row's project in the detail view."""
        try:
            row = (
                rows.values.tolist()[evt.index[0]]
                if hasattr(rows, "values")
                else rows[evt.index[0]]
            )
        except (IndexError, TypeError):
            return gr.skip()
        return self.project_detail(str(row[-1]), str(row[-2]), lang, request)

    # ---- Documents ---------------------------------------------------------------------------
    def document_rows(self, request: gr.Request = None) -> list[list]:
        viewer = self.viewer(request)
        counts = self.kb.chunk_counts(viewer)
        docs = sorted(self.kb.documents(viewer=viewer), key=lambda d: d.added, reverse=True)
        return [[d.title, d.kind, self.kb.municipality_name(d.municipality), d.language or "",
                 d.pages or "", counts.get(d.id, 0), d.added[:10], d.id[:12], d.visibility]
                for d in docs]  # fmt: skip

    def document_table(self, lang: str = DEFAULT, request: gr.Request = None) -> pd.DataFrame:
        rows = [[r[0], t(f"kind_{r[1]}", lang), *r[2:-1], t(f"vis_{r[-1]}", lang)]
                for r in self.document_rows(request)]  # fmt: skip
        return pd.DataFrame(rows, columns=_columns(DOCUMENT_COLUMNS, lang))

    # Gradio only injects a progress tracker through a gr.Progress() default argument.
    def upload(self, files, municipality: str, kind: str, visibility: str = "regional",
               lang: str = DEFAULT, progress=gr.Progress(),  # noqa: B008
               request: gr.Request = None):  # fmt: skip
        def each(i, n, name):
            progress((i, n), desc=t("ingesting", lang, name=name))

        results = self._ingest_uploads(files, municipality, kind, each, visibility, request)
        lines = [esc(result_line(r, lang)) for _, r in results]
        return "\n\n".join(lines) or t("no_files", lang), self.document_table(lang, request)

    def remove(self, doc_id: str, lang: str = DEFAULT, request: gr.Request = None):
        try:
            doc = (self.kb.remove(doc_id.strip(), viewer=self.viewer(request))
                   if doc_id.strip() else None)  # fmt: skip
        except AccessDenied as e:
            return esc(str(e)), self.document_table(lang, request)
        msg = t("removed", lang, title=esc(doc.title)) if doc else t("no_such_document", lang)
        return msg, self.document_table(lang, request)

    def set_title(self, doc_id: str, title: str, lang: str = DEFAULT,
                  request: gr.Request = None):  # fmt: skip
        """Give a document the title people recognise (its municipality's editors)."""
        try:
            doc = (self.kb.set_title(doc_id.strip(), title, self.viewer(request))
                   if doc_id.strip() else None)  # fmt: skip
        except AccessDenied as e:
            return esc(str(e)), self.document_table(lang, request)
        msg = t("retitled", lang, title=esc(doc.title)) if doc else t("no_such_document", lang)
        return msg, self.document_table(lang, request)

    def set_visibility(self, doc_id: str, visibility: str, lang: str = DEFAULT,
                       request: gr.Request = None):  # fmt: skip
        """Share a document with the region or keep it for its municipality (its editors)."""
        try:
            doc = (self.kb.set_visibility(doc_id.strip(), visibility, self.viewer(request))
                   if doc_id.strip() else None)  # fmt: skip
        except (AccessDenied, ValueError) as e:
            return esc(str(e)), self.document_table(lang, request)
        msg = (t(f"now_{visibility}", lang, title=esc(doc.title)) if doc
               else t("no_such_document", lang))  # fmt: skip
        return msg, self.document_table(lang, request)

    # ---- the page ----------------------------------------------------------------------------
    def start(self, lang: str, request: gr.Request | None = None):
        """On opening the page: the language, what a shared link asks for (`?q=question`,
        `?project=ID`), and the projects and themes this viewer may pick (the page itself
        holds only what anyone may see). Returns (language, question, tab, project pick,
        project detail, themes)."""
        params = dict(request.query_params) if request is not None else {}
        lang = lang_of(params.get("lang") or lang)
        question = (params.get("q") or "")[:1000]
        project = params.get("project") or ""
        projects = self.kb.projects(self.viewer(request))
        ids = [""] + sorted(p["id"] for p in projects)
        themes = gr.update(choices=sorted({x for p in projects for x in p.get("themes", [])}))
        if project and project in ids:
            return (lang, question, gr.update(selected="projects"),
                    gr.update(choices=ids, value=project),
                    self.project_detail(project, lang=lang, request=request), themes)  # fmt: skip
        detail = t("unknown_project", lang, id=esc(project)) if project else gr.skip()
        return lang, question, gr.skip(), gr.update(choices=ids), detail, themes


def result_line(r: IngestResult, lang: str) -> str:
    """An ingest result as `IngestResult.line` gives it, with its words in `lang` (the
    reason for a failure comes from the loader, in English)."""
    status = t(f"st_{r.status}", lang)
    if r.status == "failed":
        return f"{status}: {r.name}: {r.reason}"
    extra = [t("st_chunks", lang, n=r.chunks)] if r.chunks else []
    extra += [r.note] if r.note else []  # from the reader, in English like a failure's
    return f"{status}: {r.name}" + (f" ({'; '.join(extra)})" if extra else "")


def _merge(parts: list[str]) -> str:
    """Consecutive chunks of a section as one text, the overlap between two kept once."""
    text = ""
    for part in parts:
        k = next((k for k in range(min(len(text), len(part), 400), 0, -1)
                  if text.endswith(part[:k])), 0)  # fmt: skip
        text = text + ("" if k else "\n\n") + part[k:] if text else part
    return text


def _mark(text: str, passage: str) -> str:
    """The section as escaped Markdown, the cited passage in bold (found by its opening)."""
    opening = " ".join(passage.replace("…", " ").split()[:8])
    flat = " ".join(text.split())
    i = flat.find(opening) if opening else -1
    if i < 0:
        return esc(text)
    end = i + len(passage.rstrip("…").strip())
    return esc(flat[:i]) + "**" + esc(flat[i:end]) + "**" + esc(flat[end:])


def _choices(values: list[str], lang: str, key=None) -> list[tuple[str, str]]:
    return [(t("any", lang) if not v else (key(v, lang) if key else v), v) for v in values]


def _ask_tab(h: Handlers, labels: Labels, lang: gr.Radio) -> dict:
    kb = h.kb
    munis = [""] + [m["name"] for m in kb.municipalities()]
    blocks = [""] + [i for _, i in sorted((b["name"], i) for i, b in kb.building_blocks().items())]
    names = {i: b["name"] for i, b in kb.building_blocks().items()}
    with labels.add(gr.Tab(t("tab_ask"), id="ask", elem_id="tab-ask"), label="tab_ask"):
        with gr.Row():
            with gr.Column(scale=3):
                question = labels.add(
                    gr.Textbox(label=t("question"), placeholder=t("question_ph"), lines=1,
                               max_lines=4, elem_id="question", submit_btn=False),
                    label="question", placeholder="question_ph")
                ask_btn = labels.add(gr.Button(t("ask"), variant="primary", elem_id="ask"),
                                     value="ask")
                # The filters come after the question: the question is the first stop.
                with labels.add(gr.Accordion(t("filters"), open=False,
                                             elem_id="ask-filters"), label="filters"):
                    municipality, kind, block = _filters(labels, munis, blocks, names)
                status = labels.dynamic(gr.HTML(_status_html(DEFAULT), elem_id="kb-status-box"),
                                        lambda lg: {"value": _status_html(lg)})
                chatbot = labels.add(
                    gr.Chatbot(label=t("chat"), height=460, sanitize_html=True, autoscroll=False,
                               elem_id="chat", buttons=["copy"]),
                    label="chat")
                examples = gr.Examples([[t(k)] for k in EXAMPLES], inputs=question,
                                       label=t("examples"))
                labels.dynamic(examples.dataset, lambda lg: {
                    "samples": [[t(k, lg)] for k in EXAMPLES], "label": t("examples", lg)})
                download = labels.add(
                    gr.DownloadButton(t("download_md"), value=None, elem_id="answer-download",
                                      size="sm", variant="secondary"),
                    label="download_md")
                with labels.add(gr.Accordion(t("sources"), open=False, elem_id="sources-panel"),
                                label="sources") as panel:
                    sources = labels.add(gr.Markdown(t("no_sources"), elem_id="sources"),
                                         value="no_sources")
                    pick = labels.add(gr.Radio([], label=t("open_source"), elem_id="source-pick"),
                                      label="open_source")
                    page = gr.HTML(elem_id="viewer")
                    text = gr.Markdown(elem_id="viewer-text")
            with gr.Column(scale=2):
                cards = gr.HTML(elem_id="cards")
        # Inside the tab: a child of the Tabs container itself would shift the tabs' order
        # and a relabelled tab would land on another's place.
        kept = gr.State([])
        turns = gr.State([])  # the last answers' `turn`s: what a follow-up leans on
    inputs = [question, chatbot, municipality, kind, block, turns, lang]
    outputs = [chatbot, question, sources, cards, pick, kept, panel, turns, download]
    for trigger in (ask_btn.click, question.submit):
        trigger(h.chat_stream, inputs, outputs, js=ASK_JS, api_visibility="private").then(
            None, js="() => window.kbShowAnswer()")
    # Clearing the chat starts a new conversation: no follow-up leans on the old one.
    chatbot.clear(lambda: ([], None), None, [turns, download], api_visibility="private")
    pick.change(h.open_source, [pick, kept, lang], [page, text], api_visibility="private").then(
        None, js="() => window.kbShowMark()")
    return {"question": question, "chat": (h.chat_stream, inputs, outputs), "status": status,
            "download": download}


def _filters(labels: Labels, munis: list[str], blocks: list[str], names: dict) -> tuple:
    """The Ask tab's three filters: municipality, document kind and building block."""

    def kinds(lg):
        return _choices(KINDS, lg, lambda v, lg2: t(f"kind_{v}", lg2))

    def block_names(lg):
        return _choices(blocks, lg, lambda v, lg2: names[v])

    with gr.Row():
        municipality = labels.dynamic(
            gr.Dropdown(_choices(munis, DEFAULT), value="", label=t("municipality"),
                        elem_id="ask-municipality"),
            lambda lg: {"label": t("municipality", lg), "choices": _choices(munis, lg)})
        kind = labels.dynamic(
            gr.Dropdown(kinds(DEFAULT), value="", label=t("kind"), elem_id="ask-kind"),
            lambda lg: {"label": t("kind", lg), "choices": kinds(lg)})
        block = labels.dynamic(
            gr.Dropdown(block_names(DEFAULT), value="", label=t("block"), elem_id="ask-block"),
            lambda lg: {"label": t("block", lg), "choices": block_names(lg)})
    return municipality, kind, block


def _status_html(lang: str) -> str:
    # The live region stays in the page; only its text changes (set by kbSay in HEAD).
    working, ready = t("working", lang), t("ready", lang)
    return (f'<p id="kb-status" role="status" aria-live="polite" data-working="{working}" '
            f'data-ready="{ready}"></p>')


def _projects_tab(h: Handlers, labels: Labels, lang: gr.Radio) -> dict:
    kb = h.kb
    projects = kb.projects(h.viewer(None))  # in the page itself: only what anyone may see
    munis = [""] + [m["name"] for m in kb.municipalities()]
    themes = sorted({x for p in projects for x in p.get("themes", [])})
    with labels.add(gr.Tab(t("tab_projects"), id="projects", elem_id="tab-projects"),
                    label="tab_projects"):  # fmt: skip
        with gr.Row():
            text = labels.add(gr.Textbox(label=t("describe"), elem_id="project-text"),
                              label="describe")
            pick = labels.add(gr.Dropdown([""] + sorted(p["id"] for p in projects), value="",
                                          label=t("pick"), elem_id="project-pick"), label="pick")
            exclude = labels.dynamic(
                gr.Dropdown(_choices(munis, DEFAULT), value="", label=t("exclude"),
                            elem_id="project-exclude"),
                lambda lg: {"label": t("exclude", lg), "choices": _choices(munis, lg)})
        with gr.Row():
            themes_in = labels.add(gr.Dropdown(themes, value=[], multiselect=True,
                                               label=t("themes"), elem_id="project-themes"),
                                   label="themes")  # fmt: skip
            stage = labels.dynamic(
                gr.Dropdown(_choices([""] + list(STAGES), DEFAULT, stage_name), value="",
                            label=t("stage"), elem_id="project-stage"),
                lambda lg: {"label": t("stage", lg),
                            "choices": _choices([""] + list(STAGES), lg, stage_name)})
            status = labels.dynamic(
                gr.Dropdown(_choices([""] + list(STATUSES), DEFAULT, status_name), value="",
                            label=t("status"), elem_id="project-status"),
                lambda lg: {"label": t("status", lg),
                            "choices": _choices([""] + list(STATUSES), lg, status_name)})
        find = labels.add(gr.Button(t("find"), variant="primary", elem_id="find"), value="find")
        labels.add(gr.Markdown(t("table_hint")), value="table_hint")
        table = labels.dynamic(
            gr.Dataframe(headers=_columns(PROJECT_COLUMNS, DEFAULT), interactive=False,
                         elem_id="projects-table", wrap=True, column_widths=PROJECT_WIDTHS),
            lambda lg: {"headers": _columns(PROJECT_COLUMNS, lg)})
        detail = gr.Markdown(elem_id="project-detail")
        export = labels.add(gr.File(label=t("export_csv"), elem_id="project-export"),
                            label="export_csv")
        find.click(h.project_table, [text, pick, exclude, themes_in, stage, status, lang],
                   [table, detail, export], api_visibility="private")  # fmt: skip
        table.select(h.select_project, [table, lang], detail, api_visibility="private")
    return {"pick": pick, "detail": detail, "themes": themes_in}


def _visibilities(lang: str) -> list[tuple[str, str]]:
    return [(t(f"vis_{v}", lang), v) for v in VISIBILITY]


def _documents_tab(h: Handlers, labels: Labels, lang: gr.Radio) -> None:
    munis = [""] + [m["name"] for m in h.kb.municipalities()]
    upload_kinds = KINDS[1:]
    with labels.add(gr.Tab(t("tab_documents"), id="documents", elem_id="tab-documents"),
                    label="tab_documents"):  # fmt: skip
        docs = labels.dynamic(
            gr.Dataframe(value=h.document_table, interactive=False,
                         elem_id="documents", label=t("documents"), wrap=True,
                         column_widths=DOCUMENT_WIDTHS),
            lambda lg: {"label": t("documents", lg)})
        # The rows are each viewer's own: refreshed with the request, not by the relabelling.
        lang.change(h.document_table, [lang], docs, api_visibility="private")
        with gr.Row():
            files = labels.add(gr.File(file_count="multiple", file_types=UPLOAD_TYPES,
                                       label=t("upload"), elem_id="upload"),
                               label="upload")  # fmt: skip
            municipality = labels.dynamic(
                gr.Dropdown(_choices(munis, DEFAULT), value="", label=t("municipality"),
                            elem_id="upload-municipality"),
                lambda lg: {"label": t("municipality", lg), "choices": _choices(munis, lg)})
            kind = labels.dynamic(
                gr.Dropdown(_choices(upload_kinds, DEFAULT, lambda v, lg: t(f"kind_{v}", lg)),
                            value="strategy", label=t("upload_kind"), elem_id="upload-kind"),
                lambda lg: {"label": t("upload_kind", lg), "choices": _choices(
                    upload_kinds, lg, lambda v, lg2: t(f"kind_{v}", lg2))})  # fmt: skip
            visibility = labels.dynamic(
                gr.Dropdown(_visibilities(DEFAULT), value="regional", label=t("visible_to"),
                            elem_id="upload-visibility"),
                lambda lg: {"label": t("visible_to", lg), "choices": _visibilities(lg)})
        add = labels.add(gr.Button(t("add"), variant="primary", elem_id="add"), value="add")
        result = gr.Markdown(elem_id="upload-result")
        # One ingest at a time (it writes); questions keep their own, larger pool.
        add.click(h.upload, [files, municipality, kind, visibility, lang], [result, docs],
                  concurrency_limit=1, concurrency_id="ingest",
                  api_visibility="private")  # fmt: skip
        with gr.Row():
            doc_id = labels.add(gr.Textbox(label=t("remove_id"), elem_id="remove-id"),
                                label="remove_id")
            remove = labels.add(gr.Button(t("remove"), elem_id="remove"), value="remove")
            new_visibility = labels.dynamic(
                gr.Dropdown(_visibilities(DEFAULT), value="regional", label=t("make_visible"),
                            elem_id="new-visibility"),
                lambda lg: {"label": t("make_visible", lg), "choices": _visibilities(lg)})
            share = labels.add(gr.Button(t("share"), elem_id="share"), value="share")
        with gr.Row():
            new_title = labels.add(gr.Textbox(label=t("new_title"), elem_id="new-title"),
                                   label="new_title")
            retitle = labels.add(gr.Button(t("retitle"), elem_id="retitle"), value="retitle")
        remove.click(h.remove, [doc_id, lang], [result, docs], api_visibility="private")
        retitle.click(h.set_title, [doc_id, new_title, lang], [result, docs],
                      api_visibility="private")  # fmt: skip
        share.click(h.set_visibility, [doc_id, new_visibility, lang], [result, docs],
                    api_visibility="private")  # fmt: skip


def _api(h: Handlers) -> None:
    """The stable API: the same JSON as the CLI's --json."""
    gr.api(h.ask, api_name="ask")
    gr.api(h.similar, api_name="similar")
    gr.api(h.stats, api_name="stats")
    files = gr.File(file_count="multiple", visible=False)
    municipality, kind = gr.Textbox(visible=False), gr.Textbox(visible=False)
    visibility = gr.Textbox("regional", visible=False)
    out = gr.JSON(visible=False)
    button = gr.Button(visible=False)
    button.click(h.ingest, [files, municipality, kind, visibility], out, api_name="ingest",
                 concurrency_limit=1, concurrency_id="ingest")  # fmt: skip


def create_app(kb: KnowledgeBase) -> gr.Blocks:
    h = Handlers(kb)
    labels = Labels()
    with building_page(), gr.Blocks(title=t("title")) as app:
        with gr.Row(elem_id="kb-top"):
            labels.dynamic(gr.Markdown(f"# {t('heading')}", elem_id="kb-heading"),
                           lambda lg: {"value": f"# {t('heading', lg)}"})
            if kb.accounts.enabled:  # the login is ui/access.py's; so is the way out
                labels.dynamic(gr.Markdown(f"[{t('logout')}](logout)", elem_id="logout"),
                               lambda lg: {"value": f"[{t('logout', lg)}](logout)"})
            lang = gr.Radio([("Nederlands", "nl"), ("English", "en")], value=DEFAULT,
                            label=t("language"), elem_id="lang", scale=0, min_width=300)
        # Tabs in an explicit container: a hidden API component built by a tab module
        # between two tabs would otherwise split them into two tab bars.
        with gr.Tabs(selected="ask", elem_id="tabs") as tabs:
            ask = _ask_tab(h, labels, lang)
            projects = _projects_tab(h, labels, lang)
            overview_tab.build(kb, labels, lang)
            regional_tab.map_tab(kb, labels, lang)
            regional_tab.collaborations_tab(kb, labels, lang)
            check_tab.build(kb, labels, lang)
            _documents_tab(h, labels, lang)
        _api(h)
        lang.change(None, lang, None, js=LANG_JS)
        lang.change(labels.updates, lang, labels.components, api_visibility="private")
        chat, inputs, outputs = ask["chat"]
        app.load(h.start, [lang], [lang, ask["question"], tabs, projects["pick"],
                                   projects["detail"], projects["themes"]],
                 js="() => [window.kbLang()]", api_visibility="private").then(
            chat, inputs, outputs, api_visibility="private").then(
            None, js="() => { if (document.querySelector('#chat .bot-row')) window.kbShowAnswer();"
                     " document.body.dataset.kbReadyAt = performance.now();"
                     " document.body.dataset.kbReady = '1'; }")  # fmt: skip
    # Questions are short CPU work: a few at once keeps latency low on 2 cores; ingest
    # has its own limit of one (above), so an upload never blocks other users' questions.
    app.queue(default_concurrency_limit=4)
    return app


def launch_options(kb: KnowledgeBase) -> dict:
    """What the server needs besides the app: the style and the page script. Stored files
    are served by ui/access.py's checked route, so no folder is opened to Gradio's own."""
    return {"css": APP_CSS, "head": HEAD}


def serve(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 7860, **kw) -> None:
    import uvicorn

    from ui.access import server

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    kb.embedder.embed_queries(["warm up"])  # load the model once, at start
    # Uploads land in KB_HOME/uploads, not /tmp/gradio: Gradio reads this variable when the
    # app is built, so it is handed over here, before create_app.
    os.environ["GRADIO_TEMP_DIR"] = str((kb.home / "uploads").resolve())
    app = create_app(kb)
    # The login, the sessions and the stored files (checked per viewer) are ui/access.py's.
    # An open browser tab keeps a connection: shutting down waits for it a few seconds only.
    kw.setdefault("timeout_graceful_shutdown", 5)
    uvicorn.run(server(kb, app, **launch_options(kb)), host=host, port=port,
                log_level="warning", **kw)  # fmt: skip
