"""The web app: Ask, Projects, Map, Collaborations, Check and Documents tabs, and a stable
API for gradio_client."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from kb.access import AccessDenied
from kb.catalogue import STAGES, STATUSES
from kb.core import KnowledgeBase
from kb.records import IngestResult
from kb.text import slugify
from ui import check_tab, regional_tab
from ui.access import building_page, file_url, viewer_for
from ui.render import CARD_CSS, answer_markdown, cards_html, esc

KINDS = ["", "guide", "strategy", "project", "other"]
VISIBILITY = [("everyone in the region", "regional"), ("my municipality only", "municipality")]
EXPORTS_KEPT = 20
PROJECT_COLUMNS = ["title", "municipality", "stage", "status", "score", "why", "id"]
EXAMPLES = [
    "Which action perspectives does the guide give for data management?",
    "Welke gemeenten werken met parkeersensoren?",
    "Hoe kunnen we ouderen digitaal vaardiger maken?",
    "How do municipalities keep algorithms transparent?",
]



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
            building_block: str = "", request: gr.Request = None) -> dict:  # fmt: skip
        return self.kb.ask(question, municipality=municipality or None, kind=kind or None,
                           k=int(k), building_block=building_block or None,
                           viewer=self.viewer(request)).to_dict()  # fmt: skip

    def similar(self, text: str = "", project_id: str = "", exclude_municipality: str = "",
                k: int = 5, themes: list[str] | None = None, stage: str = "",
                status: str = "", request: gr.Request = None) -> dict:  # fmt: skip
        res = self.kb.similar(text=text or None, project_id=project_id or None,
                              exclude_municipality=exclude_municipality or None, k=int(k),
                              themes=themes or None, stage=stage or None,
                              status=status or None, viewer=self.viewer(request))  # fmt: skip
        return {"query": text or project_id, "results": [asdict(r) for r in res]}

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

    # UI
    def chat(self, question: str, history: list, municipality: str, kind: str, block: str = "",
             request: gr.Request = None):  # fmt: skip
        if not question.strip():
            return history, "", gr.skip()
        answer = self.ask(question, municipality, kind, building_block=block, request=request)
        links = {}
        for s in answer["sources"]:
            doc = self.kb.document(s["document_id"], self.viewer(request))
            if doc and doc.stored_path:  # opened through a route that checks the viewer again
                links[f"{s['document_id']}:{s.get('page')}"] = (
                    f" · [open]({file_url(doc.id, s.get('page'))})")
        cards = cards_html(answer, self.kb.municipality_name)
        for ref in answer["projects"]:
            ref["municipality"] = self.kb.municipality_name(ref["municipality"])
        reply = answer_markdown(answer, links, question)
        return history + [{"role": "user", "content": esc(question)},
                          {"role": "assistant", "content": reply}], "", cards  # fmt: skip

    def project_table(self, text: str, project_id: str, exclude: str,
                      themes: list[str] | None = None, stage: str = "",
                      status: str = "", request: gr.Request = None):  # fmt: skip
        if not text.strip() and not project_id:
            return [], "Type a description or pick a project.", None
        try:
            res = self.similar(text, project_id, exclude, 10, themes, stage, status,
                               request=request)["results"]  # fmt: skip
        except KeyError as e:
            return [], esc(str(e.args[0])), None
        rows = [[r["title"], self.kb.municipality_name(r["municipality"]), r["stage"], r["status"],
                 round(r["score"], 2), r["why"], r["id"]] for r in res]  # fmt: skip
        detail = (
            self.project_detail(res[0]["id"], res[0]["why"], request)
            if res
            else "No comparable projects found."
        )
        return rows, detail, str(self._export_csv(rows))

    def _export_csv(self, rows: list[list]) -> Path:
        """The rows as a CSV under KB_HOME/exports, named by content: the same list is one
        file, and only the newest EXPORTS_KEPT stay (no temporary folder per search)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(PROJECT_COLUMNS)
        w.writerows(rows)
        text = buf.getvalue()
        folder = self.kb.home / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"comparable-projects-{hashlib.sha256(text.encode()).hexdigest()[:12]}.csv"
        path.write_text(text, encoding="utf-8")
        old = sorted(folder.glob("comparable-projects-*.csv"), key=lambda p: p.stat().st_mtime)
        for stale in old[:-EXPORTS_KEPT]:
            stale.unlink(missing_ok=True)
        return path

    def project_detail(self, project_id: str, why: str = "", request: gr.Request = None) -> str:
        p = self.kb.project(project_id, self.viewer(request))
        if p is None:
            return ""
        blocks = self.kb.building_blocks()
        lines = [
            f"### {esc(p['title'])}",
            f"**{esc(self.kb.municipality_name(p['municipality']))}** · stage: {esc(p['stage'])} · "
            f"status: {esc(p['status'])} · since {p['start_year']}",
            esc(p.get("summary", "")),
            "**Building blocks:** " + esc(", ".join(
                blocks.get(b, {}).get("name", b)
                for b in p.get("building_blocks", []))),  # fmt: skip
            "**Themes:** " + esc(", ".join(p.get("themes", []))),
        ]
        if p.get("partners"):
            lines.append("**Partners:** " + esc(", ".join(p["partners"])))
        if why:
            lines.append(f"**Why it matches:** {esc(why)}")
        return "\n\n".join(lines)

    def project_choices(self, request: gr.Request = None):
        """The project ids and themes this viewer may pick (the app's load event)."""
        projects = self.kb.projects(self.viewer(request))
        return (gr.update(choices=[""] + sorted(p["id"] for p in projects)),
                gr.update(choices=sorted({t for p in projects for t in p.get("themes", [])})))

    def select_project(self, rows, evt: gr.SelectData, request: gr.Request = None):
        """Show the clicked row's project in the detail view."""
        try:
            row = (
                rows.values.tolist()[evt.index[0]]
                if hasattr(rows, "values")
                else rows[evt.index[0]]
            )
        except (IndexError, TypeError):
            return gr.skip()
        return self.project_detail(str(row[-1]), str(row[-2]), request)

    def document_rows(self, request: gr.Request = None) -> list[list]:
        viewer = self.viewer(request)
        counts = self.kb.chunk_counts(viewer)
        docs = sorted(self.kb.documents(viewer=viewer), key=lambda d: d.added, reverse=True)
        return [[d.title, d.kind, self.kb.municipality_name(d.municipality), d.language or "",
                 d.pages or "", counts.get(d.id, 0), d.added[:10], d.id[:12], d.visibility]
                for d in docs]  # fmt: skip

    # Gradio only injects a progress tracker through a gr.Progress() default argument.
    def upload(self, files, municipality: str, kind: str, visibility: str = "regional",
               progress=gr.Progress(), request: gr.Request = None):  # noqa: B008  # fmt: skip
        def each(i, n, name):
            progress((i, n), desc=f"ingesting {name}")

        results = self._ingest_uploads(files, municipality, kind, each, visibility, request)
        lines = [esc(r.line()) for _, r in results]
        return "\n\n".join(lines) or "No files.", self.document_rows(request)

    def remove(self, doc_id: str, request: gr.Request = None):
        try:
            doc = (self.kb.remove(doc_id.strip(), viewer=self.viewer(request))
                   if doc_id.strip() else None)  # fmt: skip
        except AccessDenied as e:
            return esc(str(e)), self.document_rows(request)
        msg = f"Removed {esc(doc.title)}" if doc else "No document with that id."
        return msg, self.document_rows(request)

    def set_visibility(self, doc_id: str, visibility: str, request: gr.Request = None):
        """Share a document with the region or keep it for its municipality (its editors)."""
        try:
            doc = (self.kb.set_visibility(doc_id.strip(), visibility, self.viewer(request))
                   if doc_id.strip() else None)  # fmt: skip
        except (AccessDenied, ValueError) as e:
            return esc(str(e)), self.document_rows(request)
        who = "the region" if visibility == "regional" else "its municipality"
        msg = f"{esc(doc.title)}: visible to {who}" if doc else "No document with that id."
        return msg, self.document_rows(request)


def _ask_tab(h: Handlers, munis: list[str]) -> None:
    with gr.Tab("Ask"):
        with gr.Row():
            municipality = gr.Dropdown(munis, value="", label="Municipality")
            kind = gr.Dropdown(KINDS, value="", label="Document kind")
            names = sorted((b["name"], i) for i, b in h.kb.building_blocks().items())
            block = gr.Dropdown([("", "")] + names, value="", label="Building block",
                                elem_id="ask-block")  # fmt: skip
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Answers with citations", height=520, sanitize_html=True)
                question = gr.Textbox(label="Question (Dutch or English)", elem_id="question")
                gr.Examples(EXAMPLES, inputs=question)
                ask_btn = gr.Button("Ask", variant="primary", elem_id="ask")
            with gr.Column(scale=2):
                cards = gr.HTML(elem_id="cards")
        for trigger in (ask_btn.click, question.submit):
            trigger(h.chat, [question, chatbot, municipality, kind, block],
                    [chatbot, question, cards], api_visibility="private")  # fmt: skip


def _projects_tab(h: Handlers, munis: list[str]) -> None:
    projects = h.kb.projects(h.viewer(None))  # in the page itself: only what anyone may see
    themes = sorted({t for p in projects for t in p.get("themes", [])})
    with gr.Tab("Projects"):
        with gr.Row():
            text = gr.Textbox(label="Describe a project", elem_id="project-text")
            pick = gr.Dropdown([""] + sorted(p["id"] for p in projects), value="",
                               label="…or pick a project")  # fmt: skip
            exclude = gr.Dropdown(munis, value="", label="Exclude municipality")
        with gr.Row():
            themes_in = gr.Dropdown(themes, value=[], multiselect=True, label="Themes (any of)")
            stage = gr.Dropdown([""] + list(STAGES), value="", label="Value-chain stage")
            status = gr.Dropdown([""] + list(STATUSES), value="", label="Status")
        find = gr.Button("Find comparable projects", elem_id="find")
        gr.Markdown("Click a row for the details; click a column header to sort.")
        table = gr.Dataframe(headers=PROJECT_COLUMNS, interactive=False, elem_id="projects-table")
        detail = gr.Markdown(elem_id="project-detail")
        export = gr.File(label="Export (CSV)")
        find.click(h.project_table, [text, pick, exclude, themes_in, stage, status],
                   [table, detail, export], api_visibility="private")  # fmt: skip
        table.select(h.select_project, [table], detail, api_visibility="private")
        # each user's own choices once the page is theirs
        gr.on(None, h.project_choices, None, [pick, themes_in], api_visibility="private")


def _documents_tab(h: Handlers, munis: list[str]) -> None:
    with gr.Tab("Documents"):
        docs = gr.Dataframe(value=h.document_rows, interactive=False, elem_id="documents",
                            headers=["title", "kind", "municipality", "language", "pages",
                                     "chunks", "added", "id", "visibility"])  # fmt: skip
        with gr.Row():
            files = gr.File(file_count="multiple", file_types=[".pdf", ".csv", ".md", ".yaml"],
                            label="Upload PDFs or a project CSV", elem_id="upload")  # fmt: skip
            municipality = gr.Dropdown(munis, value="", label="Municipality")
            kind = gr.Dropdown(KINDS, value="strategy", label="Kind")
            visibility = gr.Dropdown(VISIBILITY, value="regional", label="Visible to")
        add = gr.Button("Add to the knowledge base", elem_id="add")
        result = gr.Markdown(elem_id="upload-result")
        # One ingest at a time (it writes); questions keep their own, larger pool.
        add.click(h.upload, [files, municipality, kind, visibility], [result, docs],
                  concurrency_limit=1, concurrency_id="ingest",
                  api_visibility="private")  # fmt: skip
        with gr.Row():
            doc_id = gr.Textbox(label="Document id to remove or share")
            remove = gr.Button("Remove")
            new_visibility = gr.Dropdown(VISIBILITY, value="regional", label="Make visible to")
            share = gr.Button("Change visibility")
        remove.click(h.remove, [doc_id], [result, docs], api_visibility="private")
        share.click(h.set_visibility, [doc_id, new_visibility], [result, docs],
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
    munis = [""] + [m["name"] for m in kb.municipalities()]
    with building_page(), gr.Blocks(title="MRDH digital strategy knowledge base") as app:
        gr.Markdown("## Digital strategy knowledge base — Rotterdam–The Hague region")
        if kb.accounts.enabled:  # the login is ui/access.py's; so is the way out
            gr.Markdown("[Log out](logout)", elem_id="logout")
        # Tabs in an explicit container: a hidden API component built by a tab module
        # between two tabs would otherwise split them into two tab bars.
        with gr.Tabs():
            _ask_tab(h, munis)
            _projects_tab(h, munis)
            regional_tab.map_tab(kb)
            regional_tab.collaborations_tab(kb)
            check_tab.build(kb)
            _documents_tab(h, munis)
        _api(h)
    # Questions are short CPU work: a few at once keeps latency low on 2 cores; ingest
    # has its own limit of one (above), so an upload never blocks other users' questions.
    app.queue(default_concurrency_limit=4)
    return app


def serve(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 7860, **kw) -> None:
    import uvicorn

    from ui.access import server

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    kb.embedder.embed_queries(["warm up"])  # load the model once, at start
    # Uploads land in KB_HOME/uploads, not /tmp/gradio: Gradio reads this variable when the
    # app is built, so it is handed over here, before create_app.
    os.environ["GRADIO_TEMP_DIR"] = str((kb.home / "uploads").resolve())
    app = create_app(kb)
    # The login, the sessions and the stored files (checked per viewer) are ui/access.py's;
    # no folder is opened to Gradio's own file route.
    uvicorn.run(server(kb, app, css=CARD_CSS), host=host, port=port, log_level="warning",
                **kw)  # fmt: skip
