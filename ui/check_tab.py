"""The Check tab: upload a draft strategy, see its coverage of the guide's building blocks.

`build(kb)` adds the tab and the `/check` API endpoint to the Blocks being built; the
endpoint returns the same JSON as `kb check --json`.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from kb import check as strategy_check
from kb.core import KnowledgeBase
from ui.access import viewer_for
from ui.figures import stage_figure
from ui.i18n import DEFAULT, Labels, stage_name, t
from ui.render import esc

# A draft strategy is read like any document (kb.check.read -> ingest.loader.load_file):
# drafts are mostly Word files, not only PDFs.
DRAFT_TYPES = [".pdf", ".docx", ".odt", ".html", ".htm", ".md", ".txt", ".rtf"]

TABLE_COLUMNS = ["stage", "block", "status", "chunks", "evidence"]


def _columns(lang: str) -> list[str]:
    return [t(f"col_{c}", lang) for c in TABLE_COLUMNS]


def localized_figure(res: dict, lang: str):
    """The stage chart with its words in `lang`."""
    fig = stage_figure(res)
    for trace in fig.data:
        trace.name = t(trace.name, lang)
    fig.update_xaxes(ticktext=[stage_name(s["stage"], lang) for s in res["stages"]],
                     tickvals=[s["stage"] for s in res["stages"]],
                     title_text=t("stage", lang))  # fmt: skip
    fig.update_layout(title=t("check_chart", lang), yaxis_title=t("cards_blocks", lang))
    return fig


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
             lang: str = DEFAULT, request: gr.Request = None):  # fmt: skip
        """UI: a summary, the table per block, the gaps and the chart by stage."""
        empty = pd.DataFrame([], columns=_columns(lang))
        if not file:
            return t("check_first", lang), empty, "", None
        res = self.check(file, municipality, add, request)
        if "error" in res:
            return f"**{t('check_cannot', lang)}:** {esc(res['error'])}", empty, "", None
        return (
            self.summary(res, lang),
            pd.DataFrame(self.table(res, lang), columns=_columns(lang)),
            self.gaps(res, lang),
            localized_figure(res, lang),
        )

    def summary(self, res: dict, lang: str = DEFAULT) -> str:
        n = {s: sum(b["status"] == s for b in res["blocks"]) for s in strategy_check.STATUSES}
        who = (
            f" — {esc(self.kb.municipality_name(res['municipality']))}"
            if res["municipality"]
            else ""
        )
        added = f"  \n{t('check_added', lang, added=esc(res['added']))}" if res["added"] else ""
        counts = t("check_pages", lang, source=esc(res["source"]), pages=res["pages"] or "?",
                   chunks=res["chunks"], covered=n["covered"], weak=n["weak"],
                   missing=n["missing"], blocks=len(res["blocks"]))  # fmt: skip
        return f"## {esc(res['title'])}{who}\n{counts}{added}"

    @staticmethod
    def table(res: dict, lang: str = DEFAULT) -> list[list]:
        rows = []
        for b in res["blocks"]:
            ev = (
                ""
                if b["status"] == "missing"
                else " · ".join(f"{t('page', lang, page=e['page'])}: {e['snippet'][:90]}"
                                for e in b["evidence"][:2])  # fmt: skip
            )
            rows.append([stage_name(b["stage"], lang), b["name"], t(b["status"], lang),
                         b["chunks"], ev])  # fmt: skip
        return rows

    def gaps(self, res: dict, lang: str = DEFAULT) -> str:
        if not res["gaps"]:
            return t("no_gaps", lang)
        parts = [f"## {t('gaps_head', lang)}"]
        for g in res["gaps"]:
            parts.append(f"### {esc(g['name'])} ({esc(stage_name(g['stage'], lang))}) — "
                         f"{t(g['status'], lang)}")  # fmt: skip
            if g["perspectives"]:
                parts.append(f"*{t('perspectives', lang)}* ({esc(g['perspectives_source'])}):")
                parts.append("\n".join(f"- {esc(p.replace('**', ''))}" for p in g["perspectives"]))
            if g["projects"]:
                parts.append(f"*{t('region_projects', lang)}*")
                parts.append(
                    "\n".join(
                        f"- **{esc(p['title'])}** ({esc(self._muni(p['municipality']))}, "
                        f"{esc(p['status'] or '')}) — {esc(p['summary'])}"
                        for p in g["projects"]
                    )
                )
        return "\n\n".join(parts)


def build(kb: KnowledgeBase, labels: Labels, lang) -> CheckHandlers:
    """Add the Check tab and the `/check` endpoint to the Blocks being built."""
    h = CheckHandlers(kb)
    munis = [""] + [m["name"] for m in kb.municipalities()]

    def choices(lg):
        return [(t("any", lg) if not m else m, m) for m in munis]

    with labels.add(gr.Tab(t("tab_check"), id="check", elem_id="tab-check"), label="tab_check"):
        labels.add(gr.Markdown(t("check_intro")), value="check_intro")
        with gr.Row():
            file = labels.add(gr.File(file_types=DRAFT_TYPES, label=t("check_file"),
                                      elem_id="check-upload"), label="check_file")
            with gr.Column():
                mun = labels.dynamic(
                    gr.Dropdown(choices(DEFAULT), value="", label=t("check_municipality"),
                                elem_id="check-municipality"),
                    lambda lg: {"label": t("check_municipality", lg), "choices": choices(lg)})
                add = labels.add(gr.Checkbox(False, label=t("check_add"), elem_id="check-add"),
                                 label="check_add")
                run = labels.add(gr.Button(t("check_run"), variant="primary",
                                           elem_id="check-run"), value="check_run")
        summary = gr.Markdown(elem_id="check-summary")
        with gr.Row():
            table = labels.dynamic(
                gr.Dataframe(headers=_columns(DEFAULT), interactive=False, wrap=True,
                             elem_id="check-table"),
                lambda lg: {"headers": _columns(lg)})
        chart = labels.add(gr.Plot(label=t("check_chart"), elem_id="check-chart"),
                           label="check_chart")
        gaps = gr.Markdown(elem_id="check-gaps")
        run.click(
            h.view,
            [file, mun, add, lang],
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
