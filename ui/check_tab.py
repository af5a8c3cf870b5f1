"""The Check tab: upload a draft strategy, see its coverage of the guide's building blocks.

`build(kb)` adds the tab and the `/check` API endpoint to the Blocks being built; the
endpoint returns the same JSON as `kb check --json`.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kb import check as strategy_check
from kb.core import KnowledgeBase
from ui.access import viewer_for
from ui.figures import stage_figure
from ui.render import esc

TABLE_COLUMNS = ["stage", "building block", "status", "chunks", "evidence (page: passage)"]
_MARK = {"covered": "covered", "weak": "weak", "missing": "missing"}


def _forget_upload(path: str | None) -> None:
    """Delete Gradio's temporary copy of an uploaded draft: a checked draft is not kept."""
    if not path:
        return
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    p = Path(path).resolve()
    if folder in p.parents and p.is_file():
        p.unlink(missing_ok=True)
        try:
            p.parent.rmdir()
        except OSError:
            pass


class CheckHandlers:
    """The tab's functions, thin calls into kb.check (tested directly)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def _muni(self, mid: str | None) -> str:
        return self.kb.municipality_name(mid)

    def _municipality_id(self, name: str) -> str | None:
        for m in self.kb.municipalities():
            if name and name in (m.get("name"), m.get("id")):
                return m.get("id")
        return name or None

    def check(self, file: str | None, municipality: str = "", add: bool = False,
              request: gr.Request = None) -> dict:  # fmt: skip
        """API: the same JSON as `kb check --json` (an `error` key when the check cannot run)."""
        if not file:
            return {"error": "no file given"}
        try:
            result = strategy_check.check(
                self.kb, file, municipality=self._municipality_id(municipality), add=bool(add),
                viewer=viewer_for(self.kb, request),
            )  # fmt: skip
        except strategy_check.CheckError as e:
            return {"error": str(e)}
        finally:
            _forget_upload(file)
        return result.to_dict()

    def view(self, file: str | None, municipality: str = "", add: bool = False,
             request: gr.Request = None):  # fmt: skip
        """UI: a summary, the table per block, the gaps and the chart by stage."""
        if not file:
            return "Upload a strategy PDF first.", [], "", None
        res = self.check(file, municipality, add, request)
        if "error" in res:
            return f"**Cannot check:** {esc(res['error'])}", [], "", None
        return (
            self.summary(res),
            self.table(res),
            self.gaps(res),
            stage_figure(res),
        )

    def summary(self, res: dict) -> str:
        n = {s: sum(b["status"] == s for b in res["blocks"]) for s in strategy_check.STATUSES}
        who = (
            f" — {esc(self.kb.municipality_name(res['municipality']))}"
            if res["municipality"]
            else ""
        )
        added = f"  \n{esc(res['added'])}: stored in the knowledge base." if res["added"] else ""
        return (
            f"### {esc(res['title'])}{who}\n"
            f"{esc(res['source'])}, {res['pages'] or '?'} pages, {res['chunks']} passages: "
            f"**{n['covered']} covered**, **{n['weak']} weak**, **{n['missing']} missing** "
            f"of {len(res['blocks'])} building blocks.{added}"
        )

    @staticmethod
    def table(res: dict) -> list[list]:
        rows = []
        for b in res["blocks"]:
            ev = (
                ""
                if b["status"] == "missing"
                else " · ".join(f"p. {e['page']}: {e['snippet'][:90]}" for e in b["evidence"][:2])
            )
            rows.append([b["stage"] or "", b["name"], _MARK[b["status"]], b["chunks"], ev])
        return rows

    def gaps(self, res: dict) -> str:
        if not res["gaps"]:
            return "No gaps: every building block is covered."
        parts = ["## Gaps: what the guide suggests, and who in the region works on it"]
        for g in res["gaps"]:
            parts.append(f"### {esc(g['name'])} ({esc(g['stage'] or '')}) — {g['status']}")
            if g["perspectives"]:
                parts.append(f"*Action perspectives* ({esc(g['perspectives_source'])}):")
                parts.append("\n".join(f"- {esc(p.replace('**', ''))}" for p in g["perspectives"]))
            if g["projects"]:
                parts.append("*Projects in the region:*")
                parts.append(
                    "\n".join(
                        f"- **{esc(p['title'])}** ({esc(self._muni(p['municipality']))}, "
                        f"{esc(p['status'] or '')}) — {esc(p['summary'])}"
                        for p in g["projects"]
                    )
                )
        return "\n\n".join(parts)


def build(kb: KnowledgeBase) -> CheckHandlers:
    """Add the Check tab and the `/check` endpoint to the Blocks being built."""
    h = CheckHandlers(kb)
    munis = [""] + [m["name"] for m in kb.municipalities()]
    with gr.Tab("Check"):
        gr.Markdown(
            "Check a draft digital strategy against the guide's building blocks. The draft is "
            "read in memory and not stored, unless you tick *add*."
        )
        with gr.Row():
            file = gr.File(file_types=[".pdf"], label="Strategy PDF", elem_id="check-upload")
            with gr.Column():
                mun = gr.Dropdown(munis, value="", label="Municipality (else from the PDF)")
                add = gr.Checkbox(False, label="Also add it to the knowledge base "
                                  "(visible to its municipality only)")
                run = gr.Button("Check", variant="primary", elem_id="check-run")
        summary = gr.Markdown(elem_id="check-summary")
        with gr.Row():
            table = gr.Dataframe(
                headers=TABLE_COLUMNS, interactive=False, wrap=True, elem_id="check-table"
            )
        chart = gr.Plot(label="Coverage by value-chain stage", elem_id="check-chart")
        gaps = gr.Markdown(elem_id="check-gaps")
        run.click(
            h.view,
            [file, mun, add],
            [summary, table, gaps, chart],
            concurrency_limit=1,
            concurrency_id="check",
            api_visibility="private",
        )
        # The /check endpoint: hidden parts inside the tab, so that the tab bar stays whole.
        api_file = gr.File(visible=False)
        api_mun, api_add = gr.Textbox(visible=False), gr.Checkbox(visible=False)
        api_out = gr.JSON(visible=False)
        api_btn = gr.Button(visible=False)
        api_btn.click(
            h.check,
            [api_file, api_mun, api_add],
            api_out,
            api_name="check",
            concurrency_limit=1,
            concurrency_id="check",
        )
    return h
