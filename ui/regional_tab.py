"""The Map and Collaborations tabs: plotly figures from kb.regional, with their filters.

`create_app` calls `map_tab(kb, labels, lang)` and `collaborations_tab(kb, labels, lang)`
inside its Blocks context. The figures are plain scatter traces (no map tiles or
topojson), so nothing is fetched from the internet; the pairwise project similarities are
computed once per store generation, so moving the threshold slider only re-filters them.
"""

from __future__ import annotations

import gradio as gr

from kb import regional
from kb.core import KnowledgeBase
from ui.access import viewer_for
from ui.figures import collaboration_figure, map_figure
from ui.i18n import DEFAULT, Labels, stage_name, status_name, t
from ui.render import esc

LIST_LENGTH = 25


def _number(x: float, lang: str) -> str:
    return f"{x:.2f}".replace(".", ",") if lang == "nl" else f"{x:.2f}"


class RegionalHandlers:
    """The tabs' functions (tested directly, without a browser)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def map_figure(self, theme: str = "", stage: str = "", status: str = "",
                   lang: str = DEFAULT, request: gr.Request = None):  # fmt: skip
        pm = regional.project_map(self.kb, theme or None, stage or None, status or None,
                                  viewer=viewer_for(self.kb, request))  # fmt: skip
        fig = map_figure(pm, lang)
        if pm.markers:
            parts = [t("n_projects", lang, n=pm.projects)]
            parts += [f"{t(k, lang).lower()} {v}" for k, v in
                      (("theme", theme), ("stage", stage_name(stage, lang)),
                       ("status", status_name(status, lang)))
                      if v]  # fmt: skip
            if pm.unplaced:
                parts.append(t("unplaced", lang, n=len(pm.unplaced)))
            fig.update_layout(title_text=f"{t('map', lang)} — " + " · ".join(parts)
                              + f" ({t('map_legend', lang)})",
                              legend_title_text=t("dominant_theme", lang))  # fmt: skip
        return fig

    def collaborations(self, threshold: float = regional.DEFAULT_THRESHOLD,
                       lang: str = DEFAULT, request: gr.Request = None):  # fmt: skip
        """The collaboration graph and the ranked list of opportunities (Markdown)."""
        c = regional.collaborations(self.kb, float(threshold), viewer=viewer_for(self.kb, request))
        fig = collaboration_figure(c, lang)
        if c.places:
            fig.update_layout(title_text=t("collab_title", lang, n=len(c.opportunities),
                                           pairs=c.pairs, threshold=_number(c.threshold, lang)))
        return fig, self.opportunity_list(c, lang)

    # On page load: each user's own figures (the request says whom they are for).
    def first_map(self, request: gr.Request = None):
        return self.map_figure(request=request)

    def collaboration_figure(self, request: gr.Request = None):
        return self.collaborations(request=request)[0]

    def collaboration_list(self, request: gr.Request = None) -> str:
        return self.collaborations(request=request)[1]

    def opportunity_list(self, c: regional.Collaborations, lang: str = DEFAULT) -> str:
        th = _number(c.threshold, lang)
        if not c.opportunities:
            return t("collab_none", lang, threshold=th)
        head = t("collab_head", lang, n=len(c.opportunities), pairs=c.pairs,
                 projects=c.projects, threshold=th)  # fmt: skip
        lines = [head, ""]
        for i, o in enumerate(c.opportunities[:LIST_LENGTH], start=1):
            partners = any(p.already_partners for p in o.pairs)
            known = f" · *{t('already_partners', lang)}*" if partners else ""
            pairs = t("pairs", lang, n=o.weight)
            lines.append(f"{i}. **{esc(o.names[0])} – {esc(o.names[1])}** · {pairs} · "
                         f"{t('best', lang)} {_number(o.best, lang)}{known}  \n"
                         f"{esc(o.sentence)}")  # fmt: skip
        if len(c.opportunities) > LIST_LENGTH:
            lines.append("\n" + t("collab_more", lang, n=len(c.opportunities) - LIST_LENGTH))
        return "\n".join(lines)


def map_tab(kb: KnowledgeBase, labels: Labels, lang) -> None:
    """The project map: municipalities sized by projects, coloured by dominant theme."""
    h = RegionalHandlers(kb)
    options = regional.filter_options(kb.projects(viewer_for(kb)))  # what anyone may see

    def choices(values, lg, name=lambda v, lg: v):
        return [(t("any", lg) if not v else name(v, lg), v) for v in [""] + values]

    with labels.add(gr.Tab(t("tab_map"), id="map", elem_id="tab-map"), label="tab_map"):
        with gr.Row():
            theme = labels.dynamic(
                gr.Dropdown(choices(options["themes"], DEFAULT), value="", label=t("theme"),
                            elem_id="map-theme"),
                lambda lg: {"label": t("theme", lg), "choices": choices(options["themes"], lg)})
            stage = labels.dynamic(
                gr.Dropdown(choices(options["stages"], DEFAULT, stage_name), value="",
                            label=t("stage"), elem_id="map-stage"),
                lambda lg: {"label": t("stage", lg),
                            "choices": choices(options["stages"], lg, stage_name)})
            status = labels.dynamic(
                gr.Dropdown(choices(options["statuses"], DEFAULT, status_name), value="",
                            label=t("status"), elem_id="map-status"),
                lambda lg: {"label": t("status", lg),
                            "choices": choices(options["statuses"], lg, status_name)})
        plot = labels.add(gr.Plot(value=h.first_map, label=t("map"),
                                  elem_id="project-map"), label="map")  # fmt: skip
        labels.add(gr.Markdown(t("map_note")), value="map_note")
        for control in (theme, stage, status, lang):
            control.change(h.map_figure, [theme, stage, status, lang], plot,
                           api_visibility="private", trigger_mode="always_last")  # fmt: skip


def collaborations_tab(kb: KnowledgeBase, labels: Labels, lang) -> None:
    """The collaboration map and the ranked opportunities, with a threshold slider."""
    h = RegionalHandlers(kb)
    with labels.add(gr.Tab(t("tab_collaborations"), id="collaborations",
                           elem_id="tab-collaborations"), label="tab_collaborations"):
        threshold = labels.add(
            gr.Slider(0.2, 0.9, value=regional.DEFAULT_THRESHOLD, step=0.01,
                      label=t("threshold"), elem_id="collab-threshold"), label="threshold")
        plot = labels.add(gr.Plot(value=h.collaboration_figure, label=t("collab_map"),
                                  elem_id="collab-map"), label="collab_map")  # fmt: skip
        ranked = gr.Markdown(value=h.collaboration_list, elem_id="collab-list")
        for control in (threshold, lang):
            control.change(h.collaborations, [threshold, lang], [plot, ranked],
                           api_visibility="private", trigger_mode="always_last")  # fmt: skip
