"""The project map and the collaboration map (kb.regional), with the fake embedder."""

import json
import re
from collections import Counter

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from kb import regional
from ui import figures

MUNICIPALITIES = {
    "municipalities": [
        {"id": "delft", "name": "Delft", "lat": 52.006, "lon": 4.362},
        {"id": "den-haag", "name": "Den Haag", "lat": 52.070, "lon": 4.300},
        {"id": "rotterdam", "name": "Rotterdam", "lat": 51.922, "lon": 4.479},
        {"id": "zoetermeer", "name": "Zoetermeer", "lat": 52.060, "lon": 4.494},
        {"id": "wassenaar", "name": "Wassenaar", "lat": 52.143, "lon": 4.400},
    ],
    "regional": {"id": "regional", "name": "MRDH (region-wide)", "lat": 51.975, "lon": 4.390},
}

GUIDE = """# Building blocks

## Sensors and IoT in public space {#sensors-iot}

Stage: foundations

Sensors in public space measure parking occupancy and water levels.

## Care and wellbeing {#care-wellbeing}

Stage: applications

Technology that helps residents live at home for longer.

## Data management {#data-management}

Stage: foundations

An owner for every key register.
"""

PARKING = ("In-ground parking sensors on loading bays report occupancy in real time to a "
           "guidance system and to enforcement officers; the data feeds parking policy.")
CARE = ("Elderly residents borrow tablets with a video-call app so that home-care nurses "
        "and volunteers can visit them remotely; a helpdesk supports their families.")


def record(pid, municipality, title, text, blocks, themes, stage="applications",
           status="pilot", partners=()):  # fmt: skip
    return {
        "id": pid, "title": title, "municipality": municipality, "partners": list(partners),
        "themes": list(themes), "building_blocks": list(blocks), "stage": stage,
        "status": status, "start_year": 2023, "contact": "Programme manager", "language": "en",
        "summary": f"{title}: a project of the municipality.", "description": text,
    }  # fmt: skip


# Two topics with near-identical descriptions inside each (high similarity) and nothing in
# common between them. Rotterdam's parking project reads the same as Delft's but shares no
# building block; the region-wide one is left out of the collaboration map; Delft's two
# parking projects are in one municipality.
PROJECTS = [
    record("delft-parking", "delft", "Smart parking sensors in the centre", PARKING,
           ["sensors-iot", "smart-mobility"], ["parking", "sensors", "data"]),
    record("delft-parking-2", "delft", "Parking sensors at the station", PARKING,
           ["sensors-iot"], ["parking", "sensors", "data"], status="implementation"),
    record("zoetermeer-parking", "zoetermeer", "Parking guidance pilot", PARKING,
           ["sensors-iot"], ["parking", "mobility", "data"], partners=["delft"]),
    record("rotterdam-parking", "rotterdam", "Parking occupancy dashboard", PARKING,
           ["data-management"], ["parking", "data"], stage="foundations", status="scaled"),
    record("regional-parking", "regional", "Regional parking data", PARKING,
           ["sensors-iot"], ["parking", "data"]),
    record("delft-care", "delft", "Video visits for the elderly", CARE,
           ["care-wellbeing"], ["care", "elderly"]),
    record("zoetermeer-care", "zoetermeer", "Remote care tablets", CARE,
           ["care-wellbeing", "digital-inclusion"], ["care", "elderly", "inclusion"]),
    record("den-haag-care", "den-haag", "Tablets for home care", CARE,
           ["care-wellbeing"], ["care", "inclusion"], status="scaled"),
    record("nowhere-unplaced", "nowhere", "A project without a place",
           "A chatbot answers questions about waste collection and permits at any hour of the day.",
           ["digital-services"], ["services"]),
]  # fmt: skip


def write_corpus(root, projects=PROJECTS, municipalities=MUNICIPALITIES):
    (root / "projects").mkdir(parents=True)
    (root / "guide").mkdir()
    (root / "guide" / "01-blocks.md").write_text(GUIDE)
    if municipalities is not None:  # registered by the ingest of the folder, not indexed
        (root / "municipalities.yaml").write_text(yaml.safe_dump(municipalities))
        (root / ".kbignore").write_text("municipalities.yaml\n")
    for p in projects:
        (root / "projects" / f"{p['id']}.yaml").write_text(yaml.safe_dump(p))
    return root


@pytest.fixture
def region_kb(fake_kb, tmp_path):
    results = fake_kb.ingest([write_corpus(tmp_path / "corpus")])
    assert not [r for r in results if r.status == "failed"]
    return fake_kb


# ---- project map ----------------------------------------------------------------------------
def by_id(pm):
    return {m.id: m for m in pm.markers}


def test_markers_sit_at_the_registered_coordinates_sized_by_project_count(region_kb):
    pm = regional.project_map(region_kb)
    markers = by_id(pm)
    assert set(markers) == {"delft", "den-haag", "rotterdam", "zoetermeer", "wassenaar", "regional"}
    assert (markers["delft"].lat, markers["delft"].lon) == (52.006, 4.362)
    counts = {k: m.count for k, m in markers.items()}
    assert counts == {"delft": 3, "zoetermeer": 2, "den-haag": 1, "rotterdam": 1,
                      "regional": 1, "wassenaar": 0}  # fmt: skip
    assert markers["delft"].size > markers["zoetermeer"].size > markers["den-haag"].size
    assert markers["wassenaar"].size < markers["den-haag"].size
    assert [p["id"] for p in pm.unplaced] == ["nowhere-unplaced"]
    assert pm.projects == len(PROJECTS)


def test_dominant_theme_passes_over_cross_cutting_themes(region_kb):
    markers = by_id(regional.project_map(region_kb))
    # 'data' and 'parking' are each on 5 of the 9 projects (more than half): Delft's colour
    # is sensors, its most frequent other theme.
    assert markers["delft"].dominant_theme == "sensors"
    # Ties go to the theme that is rarer in the region.
    assert markers["zoetermeer"].dominant_theme == "mobility"  # 1 project, care 3, elderly 2
    assert markers["den-haag"].dominant_theme == "inclusion"  # 2 projects, care 3
    # With a filter on a theme, that theme is on every project and says nothing.
    care = by_id(regional.project_map(region_kb, theme="care"))
    assert care["den-haag"].dominant_theme == "inclusion"
    assert markers["wassenaar"].dominant_theme is None
    assert markers["wassenaar"].colour == regional.NO_PROJECTS
    # One colour per dominant theme, different themes in different colours.
    colours = {m.dominant_theme: m.colour for m in markers.values() if m.dominant_theme}
    assert len(set(colours.values())) == len(colours)


def test_dominant_theme_falls_back_when_only_cross_cutting_themes_remain():
    own = [{"themes": ["data"]}]
    region = own + [{"themes": ["data", "ai"]}]
    assert regional.dominant_theme(own, region) == "data"
    assert regional.dominant_theme(region, region) == "ai"
    assert regional.dominant_theme([], region) is None


def test_hover_lists_each_project_escaped(region_kb, tmp_path):
    markers = by_id(regional.project_map(region_kb))
    hover = figures.marker_hover(markers["delft"])
    for title in ("Smart parking sensors in the centre", "Parking sensors at the station",
                  "Video visits for the elderly"):  # fmt: skip
        assert title in hover
    assert "3 projects" in hover and "dominant theme: sensors" in hover
    m = regional.Marker("x", "A <b>", 52.0, 4.3, projects=[{"title": "<script>", "status": "idea"}])
    assert "<script>" not in figures.marker_hover(m) and "&lt;script&gt;" in figures.marker_hover(m)
    many = regional.Marker("y", "Y", 52.0, 4.3, projects=[
        {"title": f"Project {i:02d}", "status": "pilot"} for i in range(20)])  # fmt: skip
    text = figures.marker_hover(many)
    assert "Project 14" in text and "Project 15" not in text
    assert figures.marker_hover(many).endswith(f"… and {20 - figures.HOVER_PROJECTS} more")
    # the Dutch app's hover: counts, theme, statuses and the rest in Dutch
    nl = figures.marker_hover(markers["delft"], "nl")
    assert "3 projecten" in nl and "meest voorkomend thema: sensors" in nl
    assert "(pilot)" in figures.marker_hover(many, "nl")
    assert figures.marker_hover(many, "nl").endswith(f"… en nog {20 - figures.HOVER_PROJECTS}")
    assert "Parking sensors at the station (in uitvoering)" in nl


def test_filters_by_theme_stage_and_status(region_kb):
    care = regional.project_map(region_kb, theme="care")
    assert {m.id: m.count for m in care.markers if m.count} == {"delft": 1, "zoetermeer": 1,
                                                                "den-haag": 1}  # fmt: skip
    assert care.projects == 3 and care.unplaced == []
    services = regional.project_map(region_kb, theme="services")
    assert services.projects == 1 and [p["id"] for p in services.unplaced] == ["nowhere-unplaced"]
    found = regional.project_map(region_kb, stage="foundations")
    assert [(m.id, m.count) for m in found.markers if m.count] == [("rotterdam", 1)]
    scaled = regional.project_map(region_kb, status="scaled")
    assert {m.id for m in scaled.markers if m.count} == {"rotterdam", "den-haag"}
    both = regional.project_map(region_kb, theme="parking", status="implementation")
    assert [p["id"] for m in both.markers for p in m.projects] == ["delft-parking-2"]
    assert regional.project_map(region_kb, theme="no-such-theme").projects == 0


def test_filter_options_follow_the_projects(region_kb):
    opts = regional.filter_options(region_kb.projects())
    assert "parking" in opts["themes"] and opts["themes"] == sorted(opts["themes"])
    assert opts["stages"] == ["foundations", "applications"]  # value-chain order
    assert opts["statuses"] == ["pilot", "implementation", "scaled"]


def test_map_figure_is_plain_scatter_with_equal_distances(region_kb):
    fig = figures.map_figure(regional.project_map(region_kb))
    assert {t.type for t in fig.data} == {"scatter"}
    ratio = fig.layout.yaxis.scaleratio
    assert fig.layout.yaxis.scaleanchor == "x"
    assert ratio == pytest.approx(1 / np.cos(np.radians(52.03)), rel=0.01)
    names = [n for t in fig.data if t.text for n in t.text]
    assert "Delft" in names and "Zoetermeer" in names
    delft = next(t for t in fig.data if t.customdata is not None and "delft" in t.customdata)
    i = list(delft.customdata).index("delft")
    assert delft.marker.size[i] == regional.marker_size(3)
    assert "Smart parking sensors in the centre" in delft.hovertext[i]
    outline = next(t for t in fig.data if t.name == "region")
    assert outline.fill == "toself" and outline.x[0] == outline.x[-1]


def test_outline_surrounds_every_point():
    pts = [(4.3, 52.0), (4.5, 52.0), (4.4, 52.1), (4.4, 52.02), (4.5, 51.9)]
    ring = regional.outline(pts)
    assert ring[0] == ring[-1] and len(ring) >= 4

    def inside(x, y):  # on the left of every edge of the counter-clockwise ring
        return all((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) > 0
                   for a, b in zip(ring, ring[1:], strict=False))  # fmt: skip

    assert all(inside(x, y) for x, y in pts)
    assert regional.outline(pts[:2]) == []


def test_no_coordinates_means_no_markers_and_a_message(fake_kb, tmp_path):
    root = write_corpus(tmp_path / "c", municipalities=None)
    fake_kb.ingest([root / "projects"])
    pm = regional.project_map(fake_kb)
    assert pm.markers == [] and len(pm.unplaced) == len(PROJECTS)
    assert "municipalities.yaml" in figures.map_figure(pm).layout.title.text


# ---- collaboration map ----------------------------------------------------------------------
def test_project_vectors_are_normalised_means_cached_per_generation(region_kb, tmp_path):
    pv = regional.project_vectors(region_kb)
    assert set(pv.ids) == {p["id"] for p in PROJECTS}
    assert np.allclose(np.diag(pv.sims), 1.0, atol=1e-5)
    assert regional.project_vectors(region_kb) is pv  # same generation: not recomputed
    # The vector of a project is the mean of its chunks' vectors, normalised.
    doc = region_kb.store.document_by_key("project:delft-care")
    vecs = region_kb.store.vectors_of([c.rowid for c in region_kb.store.chunks_of(doc.id)])
    mean = vecs.mean(axis=0) / np.linalg.norm(vecs.mean(axis=0))
    other = region_kb.store.document_by_key("project:den-haag-care")
    ovecs = region_kb.store.vectors_of([c.rowid for c in region_kb.store.chunks_of(other.id)])
    omean = ovecs.mean(axis=0) / np.linalg.norm(ovecs.mean(axis=0))
    at = pv.index()
    expected = float(mean @ omean)
    assert pv.sims[at["delft-care"], at["den-haag-care"]] == pytest.approx(expected, abs=1e-5)
    extra = record("den-haag-parking", "den-haag", "Parking app", PARKING, ["sensors-iot"],
                   ["parking"])  # fmt: skip
    (tmp_path / "extra.yaml").write_text(yaml.safe_dump(extra))
    region_kb.ingest([tmp_path / "extra.yaml"])
    again = regional.project_vectors(region_kb)
    assert again is not pv and "den-haag-parking" in again.ids


def test_centring_per_language_removes_the_language_direction():
    rng = np.random.default_rng(7)
    dim, n = 64, regional.CENTRE_MIN
    topics = rng.normal(size=(n, dim))
    dutch = rng.normal(size=dim) * 3  # a direction every Dutch text shares
    vecs = np.vstack([topics, topics + dutch])  # the same n topics, in English and in Dutch
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    langs = ["en"] * n + ["nl"] * n
    raw = vecs @ vecs.T
    out = regional.centred(vecs, langs)
    cen = out @ out.T
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    # Unrelated Dutch projects look alike before, not after; the same topic across the two
    # languages looks alike after.
    assert raw[n, n + 1] > 0.7 and abs(cen[n, n + 1]) < 0.4
    assert raw[0, n] < cen[0, n] and cen[0, n] > 0.9
    few = vecs[: n - 1]  # too few projects to estimate a mean direction: left as they are
    assert np.array_equal(regional.centred(few, langs[: n - 1]), few)


def test_edges_and_weights_for_a_known_configuration(region_kb):
    sims = regional.project_vectors(region_kb)
    at = sims.index()
    same = sims.sims[at["delft-parking"], at["zoetermeer-parking"]]
    across = sims.sims[at["delft-parking"], at["delft-care"]]
    assert same > 0.6 > across  # the fixture's premise: topics alike inside, apart across
    c = regional.collaborations(region_kb, threshold=0.6)
    edges = {(o.a, o.b): o.weight for o in c.opportunities}
    # Delft-Zoetermeer: both Delft parking projects with Zoetermeer's, and the care pair.
    assert edges == {("delft", "zoetermeer"): 3, ("delft", "den-haag"): 1,
                     ("den-haag", "zoetermeer"): 1}  # fmt: skip
    assert [(o.a, o.b) for o in c.opportunities][0] == ("delft", "zoetermeer")
    assert c.pairs == 5
    top = c.opportunities[0]
    assert {(p.a["municipality"], p.b["municipality"]) for p in top.pairs} == {
        ("delft", "zoetermeer")}  # fmt: skip
    assert any(p.already_partners for p in top.pairs)  # Zoetermeer's parking names Delft
    # No edge for Rotterdam (no shared block) or for the region-wide project.
    assert not any("rotterdam" in k or "regional" in k for k in edges)
    # Above every similarity: nothing left.
    assert regional.collaborations(region_kb, threshold=1.01).opportunities == []


def test_threshold_is_inclusive_and_ranking_uses_weight_then_similarity():
    projects = [
        record("a1", "delft", "Alpha one", PARKING, ["sensors-iot"], ["x"]),
        record("b1", "den-haag", "Beta one", PARKING, ["sensors-iot", "open-data"], ["x"]),
        record("b2", "den-haag", "Beta two", PARKING, ["open-data"], ["x"]),
        record("c1", "zoetermeer", "Gamma one", PARKING, ["open-data", "sensors-iot"], ["x"]),
    ]  # fmt: skip
    ids = ("a1", "b1", "b2", "c1")
    sims = np.array([[1, .7, .9, .2], [.7, 1, .5, .8], [.9, .5, 1, .75], [.2, .8, .75, 1]])
    pv = regional.ProjectVectors(ids, sims)
    c = regional.build_collaborations(projects, pv, MUNICIPALITIES["municipalities"], 0.75)
    # a1-b2 (.9) shares no block; b1-c1 (.8) and b2-c1 (.75, exactly the threshold) do.
    assert [(o.names, o.weight) for o in c.opportunities] == [(("Den Haag", "Zoetermeer"), 2)]
    c = regional.build_collaborations(projects, pv, MUNICIPALITIES["municipalities"], 0.7)
    assert [(o.a, o.b, o.weight) for o in c.opportunities] == [
        ("den-haag", "zoetermeer", 2), ("delft", "den-haag", 1)]  # fmt: skip
    d = c.to_dict(top=1)
    assert d["edges"] == 2 and d["pairs"] == 3 and len(d["opportunities"]) == 1


def test_sentence_names_the_shared_block_and_the_pairs(region_kb):
    c = regional.collaborations(region_kb, threshold=0.6)
    s = {(o.a, o.b): o.sentence for o in c.opportunities}
    assert s[("delft", "den-haag")] == (
        "Delft and Den Haag both work on care and wellbeing: "
        "Video visits for the elderly / Tablets for home care.")  # fmt: skip
    top = s[("delft", "zoetermeer")]
    assert top.startswith("Delft and Zoetermeer both work on sensors and IoT in public space (")
    assert "Smart parking sensors in the centre / Parking guidance pilot" in top
    assert "Parking sensors at the station / Parking guidance pilot" in top
    assert top.endswith("and on care and wellbeing (Video visits for the elderly / "
                        "Remote care tablets).")
    assert c.opportunities[0].topic == ["Sensors and IoT in public space", "Care and wellbeing"]


def test_pairs_are_grouped_by_their_most_specific_shared_block():
    def pair(a_blocks, shared, sim=0.9):
        return regional.Pair({"title": "a", "building_blocks": a_blocks}, {"title": "b"}, sim,
                             shared, False)  # fmt: skip

    twin = pair(["digital-twins", "data-management"], ("digital-twins", "data-management"))
    bins = pair(["sensors-iot", "data-management"], ("sensors-iot", "data-management"), 0.8)
    portal = pair(["open-data", "data-management"], ("data-management",), 0.7)
    frequency = Counter({"data-management": 40, "sensors-iot": 20, "digital-twins": 4})
    groups = regional.group_pairs([twin, bins, portal], frequency)
    assert [(lead, len(ps)) for lead, ps in groups] == [
        ("digital-twins", 1), ("sensors-iot", 1), ("data-management", 1)]  # fmt: skip
    # Equally common blocks: the one the first project lists first.
    tie = pair(["smart-mobility", "energy-climate"], ("energy-climate", "smart-mobility"))
    assert regional.group_pairs([tie], Counter())[0][0] == "smart-mobility"


def test_sentence_caps_the_pairs_it_lists():
    pairs = [regional.Pair({"title": f"A{i}"}, {"title": f"B{i}"}, 0.9, ("x",), False)
             for i in range(7)]  # fmt: skip
    text = regional.sentence(("P", "Q"), [("Smart mobility", pairs)])
    assert text.startswith("P and Q both work on smart mobility: A0 / B0; A1 / B1;")
    assert "A4 / B4" in text and "A5" not in text and text.endswith(", and 2 more pairs.")
    one = regional.sentence(("P", "Q"), [("IoT hub", pairs[:1])])
    assert one == "P and Q both work on IoT hub: A0 / B0."


def test_collaboration_figure_draws_weighted_edges_between_coordinates(region_kb):
    c = regional.collaborations(region_kb, threshold=0.6)
    fig = figures.collaboration_figure(c)
    assert {t.type for t in fig.data} == {"scatter"}
    lines = [t for t in fig.data if t.mode == "lines" and t.name != "region"]
    widths = {t.name: t.line.width for t in lines}
    assert set(widths) == {"1 pair", "3 pairs"} and widths["3 pairs"] > widths["1 pair"]
    heavy = next(t for t in lines if t.name == "3 pairs")
    assert list(heavy.x[:2]) == [4.362, 4.494] and list(heavy.y[:2]) == [52.006, 52.060]
    nodes = next(t for t in fig.data if t.name == "municipalities")
    assert "regional" not in nodes.customdata and "Wassenaar" in nodes.text
    hover = next(t for t in fig.data if t.name == "pairs").hovertext
    assert any("Remote care tablets" in h for h in hover)


# ---- CLI ------------------------------------------------------------------------------------
def test_cli_map_writes_a_standalone_offline_page(region_kb, kb_home, tmp_path):
    from ui.cli import cli

    region_kb.close()
    out = tmp_path / "out" / "map.html"
    r = CliRunner().invoke(cli, ["map", "--out", str(out), "--theme", "care"])
    assert r.exit_code == 0, r.output
    assert "3 projects in 3 municipalities" in r.output
    page = out.read_text(encoding="utf-8")
    assert len(page) > 1_000_000  # plotly.js itself is inlined
    assert "Plotly.newPlot" in page and "Video visits for the elderly" in page
    srcs = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"' >]+)", page, flags=re.I)
    assert not [s for s in srcs if s.lower().startswith(("http:", "https:", "//"))]
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", page, flags=re.I)
    assert CliRunner().invoke(cli, ["map", "--out", str(out), "--stage", "nope"]).exit_code == 2


def test_cli_collaborations_json_shape_and_text(region_kb, kb_home):
    from ui.cli import cli

    region_kb.close()
    r = CliRunner().invoke(cli, ["collaborations", "--threshold", "0.6", "--top", "2", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert {"threshold", "rule", "projects", "edges", "pairs", "opportunities"} <= set(data)
    assert data["threshold"] == 0.6 and data["edges"] == 3 and data["pairs"] == 5
    assert len(data["opportunities"]) == 2
    first = data["opportunities"][0]
    assert first["municipalities"] == ["delft", "zoetermeer"] and first["weight"] == 3
    assert len(first["pairs"]) == 3
    assert set(first["pairs"][0]) == {"a", "b", "similarity", "shared_building_blocks",
                                      "already_partners"}  # fmt: skip
    assert set(first["pairs"][0]["a"]) == {"id", "title", "municipality"}
    assert first["sentence"].startswith("Delft and Zoetermeer both work on")
    text = CliRunner().invoke(cli, ["collaborations", "--threshold", "0.6"])
    assert text.exit_code == 0
    assert "3 opportunities, 5 comparable project pairs" in text.output
    assert "  1. [3 pairs" in text.output and "Delft and Den Haag both work on care" in text.output


# ---- app --------------------------------------------------------------------------------------
def test_tabs_are_built_and_the_slider_handler_refilters(region_kb):
    from ui.app import create_app
    from ui.regional_tab import RegionalHandlers

    app = create_app(region_kb)
    labels = {getattr(b, "label", None) for b in app.blocks.values()}
    assert {"Kaart", "Samenwerking"} <= labels  # Dutch first; English by the switch
    h = RegionalHandlers(region_kb)
    fig_nl, text_nl = h.collaborations(0.6)
    assert "3 kansen" in fig_nl.layout.title.text and text_nl.startswith("**3 kansen**")
    fig, text = h.collaborations(0.6, "en")
    assert "3 opportunities" in fig.layout.title.text
    assert text.startswith("**3 opportunities**") and "1. **Delft – Zoetermeer**" in text
    _, none = h.collaborations(1.01, "en")
    assert none.startswith("No two municipalities")
    care = h.map_figure("care", "", "", "en")
    assert "theme care" in care.layout.title.text
    assert "thema care" in h.map_figure("care", "", "").layout.title.text
