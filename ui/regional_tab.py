"""The Map and Collaborations tabs: plotly figures from kb.regional, with their filters.

`create_app` calls `map_tab(kb)` and `collaborations_tab(kb)` inside its Blocks context.
The figures are plain scatter traces (no map tiles or topojson), so nothing is fetched
from the internet; the pairwise project similarities are computed once per store
generation, so moving the threshold slider only re-filters them.
"""

from __future__ import annotations

import gradio as gr

from kb import regional
from kb.core import KnowledgeBase
from ui.access import viewer_for
from ui.figures import collaboration_figure, map_figure
from ui.render import esc

LIST_LENGTH = 25


class RegionalHandlers:
    """The tabs' functions (tested directly, without a browser)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def map_figure(self, theme: str = "", stage: str = "", status: str = "",
                   request: gr.Request = None):  # fmt: skip
        pm = regional.project_map(self.kb, theme or None, stage or None, status or None,
                                  viewer=viewer_for(self.kb, request))  # fmt: skip
        return map_figure(pm)

    def collaborations(self, threshold: float = regional.DEFAULT_THRESHOLD,
                       request: gr.Request = None):  # fmt: skip
        """The collaboration graph and the ranked list of opportunities (Markdown)."""
        c = regional.collaborations(self.kb, float(threshold), viewer=viewer_for(self.kb, request))
        return collaboration_figure(c), self.opportunity_list(c)

    def collaboration_figure(self, request: gr.Request = None):
        return self.collaborations(request=request)[0]

    def collaboration_list(self, request: gr.Request = None) -> str:
        return self.collaborations(request=request)[1]

    def opportunity_list(self, c: regional.Collaborations) -> str:
        if not c.opportunities:
            return (f"No two municipalities have projects with similarity ≥ {c.threshold:.2f} "
                    "and a shared building block. Lower the threshold for weaker matches.")
        head = (f"**{len(c.opportunities)} opportunities**, {c.pairs} comparable project pairs "
                f"among {c.projects} projects (similarity ≥ {c.threshold:.2f}, at least one "
                "shared building block).")  # fmt: skip
        lines = [head, ""]
        for i, o in enumerate(c.opportunities[:LIST_LENGTH], start=1):
            partners = any(p.already_partners for p in o.pairs)
            known = " · *already partners on some*" if partners else ""
            lines.append(f"{i}. **{esc(o.names[0])} – {esc(o.names[1])}** · {o.weight} "
                         f"pair{'s' if o.weight > 1 else ''} · best {o.best:.2f}{known}  \n"
                         f"{esc(o.sentence)}")  # fmt: skip
        if len(c.opportunities) > LIST_LENGTH:
            lines.append(f"\n…and {len(c.opportunities) - LIST_LENGTH} more "
                         "(`kb collaborations --top N` lists them all).")  # fmt: skip
        return "\n".join(lines)


def map_tab(kb: KnowledgeBase) -> None:
    """The project map: municipalities sized by projects, coloured by dominant theme."""
    h = RegionalHandlers(kb)
    options = regional.filter_options(kb.projects(viewer_for(kb)))  # what anyone may see
    with gr.Tab("Map"):
        with gr.Row():
            theme = gr.Dropdown([""] + options["themes"], value="", label="Theme")
            stage = gr.Dropdown([""] + options["stages"], value="", label="Value-chain stage")
            status = gr.Dropdown([""] + options["statuses"], value="", label="Status")
        plot = gr.Plot(value=h.map_figure, label="Project map", elem_id="project-map")
        gr.Markdown("Marker size: number of projects; colour: the municipality's most frequent "
                    "theme (themes on more than half of the shown projects, such as *data*, are "
                    "passed over). Hover a marker for its projects.")  # fmt: skip
        for control in (theme, stage, status):
            control.change(h.map_figure, [theme, stage, status], plot, api_visibility="private",
                           trigger_mode="always_last")  # fmt: skip


def collaborations_tab(kb: KnowledgeBase) -> None:
    """The collaboration map and the ranked opportunities, with a threshold slider."""
    h = RegionalHandlers(kb)
    with gr.Tab("Collaborations"):
        threshold = gr.Slider(0.2, 0.9, value=regional.DEFAULT_THRESHOLD, step=0.01,
                              label="Similarity threshold (cosine of the project vectors)",
                              elem_id="collab-threshold")  # fmt: skip
        plot = gr.Plot(value=h.collaboration_figure, label="Collaboration map",
                       elem_id="collab-map")  # fmt: skip
        ranked = gr.Markdown(value=h.collaboration_list, elem_id="collab-list")
        threshold.change(h.collaborations, [threshold], [plot, ranked], api_visibility="private",
                         trigger_mode="always_last")  # fmt: skip
