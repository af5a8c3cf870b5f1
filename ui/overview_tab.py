"""The tab "The region at a glance": building blocks × municipalities from kb.overview.

A table (one row per building block, grouped by value-chain stage; one column per
municipality) whose cells give the strategy's status for the block as a symbol and the
number of the municipality's projects on it. Clicking a cell, or choosing a municipality
and a block, shows the evidence. The matrix is read again whenever the tab is opened, so a
strategy added on the Documents tab shows at once (kb.overview caches per store write).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import gradio as gr
import pandas as pd

from kb import overview as ov
from kb.core import KnowledgeBase
from ui.access import viewer_for
from ui.i18n import DEFAULT, Labels, stage_name, status_name, t
from ui.render import esc

SYMBOL = {"covered": "■", "weak": "◧", "missing": "□", None: "—"}
# Cell colours with text contrast of at least 4.5:1 (WCAG AA); the symbol carries the
# meaning as well, so colour is never the only cue.
STYLE = {"covered": "background-color:#1e6b34;color:#ffffff",
         "weak": "background-color:#ffe08a;color:#000000",
         "missing": "background-color:#ffffff;color:#000000",
         None: "background-color:#eeeeee;color:#333333"}  # fmt: skip
PNG_COLOURS = {"covered": "#1e6b34", "weak": "#f2b705", "missing": "#ffffff", None: "#dddddd"}


class OverviewHandlers:
    """The tab's functions (tested directly)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def data(self, request: gr.Request | None = None) -> ov.Overview:
        """The matrix of what the request's viewer may see (ui/access.py)."""
        return ov.overview(self.kb, viewer_for(self.kb, request))

    def matrix(self, lang: str = DEFAULT, request: gr.Request = None) -> pd.DataFrame:
        """The matrix as a table: stage, block, then one column per municipality."""
        o = self.data(request)
        head = [t("stage", lang), t("block", lang)] + [m["name"] for m in o.municipalities]
        rows = []
        for b in o.blocks:
            row = [stage_name(b["stage"], lang), b["name"]]
            for m in o.municipalities:
                c = o.cell(m["id"], b["id"])
                row.append(f"{SYMBOL[c.status]} {c.projects}")
            rows.append(row)
        return pd.DataFrame(rows, columns=head)

    def styled(self, lang: str = DEFAULT, request: gr.Request = None):
        """The matrix with its cells coloured by status (a pandas Styler)."""
        o = self.data(request)
        frame = self.matrix(lang, request)
        styles = [["", ""] + [STYLE[o.cell(m["id"], b["id"]).status] for m in o.municipalities]
                  for b in o.blocks]  # fmt: skip
        css = pd.DataFrame(styles, columns=frame.columns, index=frame.index)
        return frame.style.apply(lambda _: css, axis=None)

    def summary(self, lang: str = DEFAULT, request: gr.Request = None) -> str:
        o = self.data(request)
        if not o.strategies:
            return t("ov_none", lang)
        names = {b["id"]: b["name"] for b in o.blocks}
        head = t("ov_summary", lang, strategies=len(o.strategies),
                 municipalities=len(o.municipalities), projects=o.projects)  # fmt: skip
        parts = [head, f"**{t('ov_uncovered', lang)}:** " + (
            ", ".join(esc(names[b]) for b in o.uncovered) or t("ov_uncovered_none", lang))]
        far = "; ".join(
            f"{esc(self.kb.municipality_name(s.municipality))} "
            f"({t('ov_share', lang, share=s.share, missing=s.missing)})" for s in o.furthest)
        parts.append(f"**{t('ov_furthest', lang)}:** {far}")
        without = [m["name"] for m in o.municipalities if m["id"] not in o.strategies]
        if without:
            parts.append(f"**{t('ov_without', lang)}:** " + esc(", ".join(without)))
        parts.append(t("ov_legend", lang))
        return "\n\n".join(parts)

    def evidence(self, municipality: str, block: str, lang: str = DEFAULT,
                 request: gr.Request = None) -> str:  # fmt: skip
        """A cell's evidence: the strategy's passages on the block, and the projects."""
        o = self.data(request)
        if not municipality or not block:
            return t("ov_pick", lang)
        c = o.cell(municipality, block)
        bname = next((b["name"] for b in o.blocks if b["id"] == block), block)
        status = t(c.status, lang) if c.status else t("no_strategy", lang)
        head = t("ov_cell_head", lang, block=esc(bname), status=status,
                 municipality=esc(self.kb.municipality_name(municipality)))
        parts = [f"## {head}"]
        passages, projects = ov.evidence(self.kb, municipality, block,
                                         viewer=viewer_for(self.kb, request))  # fmt: skip
        if c.status:
            parts.append(f"**{t('ov_evidence', lang)}**")
            parts.append("\n\n".join(
                f"- *{esc(p.title)}*, {esc(self._where(p, lang))}  \n  > {esc(p.snippet)}"
                for p in passages) or t("ov_no_evidence", lang))
        parts.append(f"**{t('ov_projects', lang)}**")
        parts.append("\n".join(
            f"- [{esc(p['title'])}](?project={quote(p['id'])}) "
            f"({esc(status_name(p.get('status'), lang))})"
            for p in projects) or t("ov_no_projects", lang))
        return "\n\n".join(parts)

    @staticmethod
    def _where(p: ov.Passage, lang: str) -> str:
        return t("page", lang, page=p.page) if p.page else (p.section or "")

    def select_cell(self, evt: gr.SelectData, lang: str = DEFAULT, request: gr.Request = None):
        """A clicked cell: its municipality and block in the pickers, and its evidence."""
        o = self.data(request)
        try:
            row, col = evt.index
            block = o.blocks[row]["id"]
            municipality = o.municipalities[col - 2]["id"] if col >= 2 else ""
        except (IndexError, TypeError, ValueError):
            return gr.skip(), gr.skip(), gr.skip()
        if not municipality:
            return gr.skip(), block, self.evidence("", block, lang, request)
        return municipality, block, self.evidence(municipality, block, lang, request)

    def refresh(self, lang: str = DEFAULT, request: gr.Request = None):
        return self.styled(lang, request), self.summary(lang, request)

    # On page load: each user's own matrix (the request says whom it is for).
    def first_summary(self, request: gr.Request = None) -> str:
        return self.summary(DEFAULT, request)

    def first_matrix(self, request: gr.Request = None):
        return self.styled(DEFAULT, request)

    def export_csv(self, request: gr.Request = None) -> str:
        """The matrix as CSV (one row per municipality and block), under KB_HOME/exports."""
        o = self.data(request)
        buf = io.StringIO()
        rows = o.to_rows()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["municipality"])
        w.writeheader()
        w.writerows(rows)
        path = self._export_path("csv", request)
        path.write_text(buf.getvalue(), encoding="utf-8")
        return str(path)

    def export_png(self, lang: str = DEFAULT, request: gr.Request = None) -> str:
        """The matrix as a PNG drawn on the server (matplotlib, no browser needed)."""
        path = self._export_path(f"{lang}.png", request)
        if not path.exists():
            path.write_bytes(matrix_png(self.data(request), lang))
        return str(path)

    def exports(self, lang: str = DEFAULT, request: gr.Request = None):
        return self.export_csv(request), self.export_png(lang, request)

    def _export_path(self, suffix: str, request: gr.Request | None = None):
        folder = self.kb.home / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        # one file per scope of visibility: a municipality's matrix is never another's
        scope = viewer_for(self.kb, request).scope
        scope = "all" if scope == "*" else scope
        return folder / f"region-overview-{self.kb.store.generation}-{scope}.{suffix}"


def matrix_png(o: ov.Overview, lang: str = DEFAULT) -> bytes:
    """Blocks × municipalities as a picture: coloured squares with the project counts."""
    import matplotlib

    matrix_backend = "Agg"  # no display on a server
    matplotlib.use(matrix_backend)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    nb, nm = len(o.blocks), len(o.municipalities)
    fig, ax = plt.subplots(figsize=(4 + 0.42 * nm, 2 + 0.36 * nb), dpi=120)
    for i, b in enumerate(o.blocks):
        for j, m in enumerate(o.municipalities):
            c = o.cell(m["id"], b["id"])
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=PNG_COLOURS[c.status],
                                   edgecolor="#777777", linewidth=0.5))  # fmt: skip
            if c.projects:
                ax.text(j + 0.5, i + 0.55, str(c.projects), ha="center", va="center",
                        fontsize=7, color="#ffffff" if c.status == "covered" else "#000000")
    ax.set_xlim(0, nm)
    ax.set_ylim(nb, 0)
    ax.set_xticks([j + 0.5 for j in range(nm)], [m["name"] for m in o.municipalities],
                  rotation=60, ha="right", fontsize=8)  # fmt: skip
    ax.set_yticks([i + 0.5 for i in range(nb)],
                  [f"{stage_name(b['stage'], lang)} · {b['name']}" for b in o.blocks], fontsize=8)
    ax.xaxis.tick_top()
    plt.setp(ax.get_xticklabels(), rotation=60, ha="left")
    ax.tick_params(length=0)
    legend = [Patch(facecolor=PNG_COLOURS[s], edgecolor="#777777",
                    label=t(s, lang) if s else t("no_strategy", lang))
              for s in ("covered", "weak", "missing", None)]  # fmt: skip
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(0, -0.01), ncol=4, fontsize=8,
              frameon=False)
    ax.set_title(t("ov_matrix", lang), fontsize=11, pad=8, loc="left", y=-0.08)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def build(kb: KnowledgeBase, labels: Labels, lang) -> OverviewHandlers:
    """Add the tab to the Blocks being built."""
    h = OverviewHandlers(kb)
    o = h.data()  # in the page itself (building_page): only what anyone may see
    munis = [(m["name"], m["id"]) for m in o.municipalities]
    blocks = [(b["name"], b["id"]) for b in o.blocks]
    with labels.add(gr.Tab(t("tab_overview"), id="overview", elem_id="tab-overview"),
                    label="tab_overview") as tab:
        labels.add(gr.Markdown(t("ov_intro")), value="ov_intro")
        summary = gr.Markdown(value=h.first_summary, elem_id="ov-summary")
        matrix = labels.add(
            gr.Dataframe(value=h.first_matrix, interactive=False, wrap=True,
                         label=t("ov_matrix"), elem_id="ov-matrix", max_height=900,
                         column_widths=["120px", "240px"] + ["96px"] * len(munis)),
            label="ov_matrix")
        with gr.Row():
            mun = labels.add(gr.Dropdown(munis, value=None, label=t("ov_cell_muni"),
                                         elem_id="ov-municipality"), label="ov_cell_muni")
            block = labels.add(gr.Dropdown(blocks, value=None, label=t("ov_cell_block"),
                                           elem_id="ov-block"), label="ov_cell_block")
            show = labels.add(gr.Button(t("ov_show"), elem_id="ov-show"), value="ov_show")
        evidence = gr.Markdown(elem_id="ov-evidence")
        with gr.Row():
            export = labels.add(gr.Button(t("ov_export"), elem_id="ov-export"),
                                value="ov_export")
            csv_file = labels.add(gr.File(label=t("ov_csv"), elem_id="ov-csv"), label="ov_csv")
            png_file = labels.add(gr.File(label=t("ov_png"), elem_id="ov-png"), label="ov_png")
    matrix.select(h.select_cell, [lang], [mun, block, evidence], api_visibility="private")
    show.click(h.evidence, [mun, block, lang], evidence, api_visibility="private")
    export.click(h.exports, [lang], [csv_file, png_file], api_visibility="private")
    tab.select(h.refresh, [lang], [matrix, summary], api_visibility="private")
    lang.change(h.refresh, [lang], [matrix, summary], api_visibility="private")
    return h
