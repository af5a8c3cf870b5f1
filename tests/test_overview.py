"""The region at a glance: the matrix from stored strategies and projects (kb.overview) and
the tab's handlers (ui.overview_tab), with the fake embedder."""

import csv

from tests.test_check import guide_dir, strategy_pdf  # noqa: F401  (fixtures)


def test_matrix_follows_the_store_and_agrees_with_the_check(fake_kb, guide_dir, strategy_pdf):  # noqa: F811
    from kb import check, overview

    fake_kb.ingest([guide_dir])
    empty = overview.overview(fake_kb)
    assert empty.strategies == {} and empty.furthest == [] and empty.uncovered == []
    assert all(c.status is None for c in empty.cells.values())
    # Project counts come from the records, per municipality and block.
    assert empty.cell("delft", "digital-inclusion").projects == 1
    assert empty.cell("rotterdam", "sensors-iot").projects == 1
    assert empty.cell("rotterdam", "digital-inclusion").projects == 0

    fake_kb.ingest([strategy_pdf], kind="strategy", municipality="zoetermeer")
    after = overview.overview(fake_kb)  # a write: computed again, not the cached one
    assert list(after.strategies) == ["zoetermeer"] and after is not empty
    assert overview.overview(fake_kb) is after  # no write: the cached one
    cells = {b["id"]: after.cell("zoetermeer", b["id"]).status for b in after.blocks}
    assert set(cells.values()) <= set(check.STATUSES) and None not in cells.values()
    # The check's rule on the stored chunks: covered exactly where `kb check` says covered
    # (the check also reads single sentences, so its weak can be the matrix's missing).
    res = check.check(fake_kb, strategy_pdf, municipality="zoetermeer")
    for b in res.blocks:
        assert (cells[b.id] == "covered") == (b.status == "covered"), b.id
        if cells[b.id] == "weak":
            assert b.status == "weak", b.id
    assert after.uncovered == [b for b, s in cells.items() if s != "covered"]
    assert [s.municipality for s in after.furthest] == ["zoetermeer"]
    share = (list(cells.values()).count("covered") + list(cells.values()).count("weak") / 2)
    assert after.furthest[0].share == round(share / len(cells), 3)
    assert all(after.cell("delft", b).status is None for b in cells)  # no strategy for Delft


def test_evidence_and_exports(fake_kb, guide_dir, strategy_pdf):  # noqa: F811
    from ui.overview_tab import OverviewHandlers

    fake_kb.ingest([guide_dir])
    fake_kb.ingest([strategy_pdf], kind="strategy", municipality="zoetermeer")
    h = OverviewHandlers(fake_kb)
    o = h.data()
    covered = next(b["id"] for b in o.blocks if o.cell("zoetermeer", b["id"]).status == "covered")
    text = h.evidence("zoetermeer", covered, "nl")
    assert text.startswith("## ") and "Zoetermeer: gedekt" in text
    assert "Passages uit de strategie" in text and "> " in text
    inclusion = h.evidence("zoetermeer", "digital-inclusion", "en")
    assert "[Library courses in digital skills](?project=zoetermeer-inclusion)" in inclusion
    assert "no strategy" in h.evidence("delft", "digital-inclusion", "en")
    assert h.evidence("", "", "en") == "Pick a municipality and a building block."
    frame = h.matrix("en")
    assert list(frame.columns[:2]) == ["Value-chain stage", "Building block"]
    assert frame.shape == (len(o.blocks), 2 + len(o.municipalities))
    summary = h.summary("nl")
    assert "1 van de" in summary and "Gemeenten het verst van de handreiking" in summary
    path, png = h.exports("en")
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(o.blocks) * len(o.municipalities)
    row = next(r for r in rows if r["municipality"] == "zoetermeer" and r["block"] == covered)
    assert row["status"] == "covered" and row["projects"] == "0"
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_every_text_has_both_languages():
    import re
    from pathlib import Path

    from ui.i18n import TABLE, t

    assert all(len(pair) == 2 and all(pair) for pair in TABLE.values())
    used = set()
    for path in Path(__file__).resolve().parents[1].joinpath("ui").glob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_0-9-]+)["']""", path.read_text()))
    assert used and used <= set(TABLE), sorted(used - set(TABLE))
    assert t("ask", "en-GB") == "Ask" and t("ask", "de") == "Vraag stellen"  # Dutch otherwise


def test_the_matrix_holds_only_what_the_viewer_may_see(fake_kb, guide_dir, strategy_pdf):  # noqa: F811
    from types import SimpleNamespace

    from kb import overview
    from kb.access import Viewer
    from ui.access import building_page
    from ui.overview_tab import OverviewHandlers

    fake_kb.ingest([guide_dir])
    [r] = fake_kb.ingest([strategy_pdf], kind="strategy", municipality="zoetermeer",
                         visibility="municipality")  # fmt: skip
    zoetermeer = Viewer("zoe", "zoetermeer", "reader")
    delft = Viewer("del", "delft", "reader")
    assert list(overview.overview(fake_kb, zoetermeer).strategies) == ["zoetermeer"]
    assert overview.overview(fake_kb, delft).strategies == {}  # its own cache, not Zoetermeer's
    assert list(overview.overview(fake_kb).strategies) == ["zoetermeer"]  # the local user
    block = next(b["id"] for b in overview.overview(fake_kb).blocks)
    assert overview.evidence(fake_kb, "zoetermeer", block, viewer=delft)[0] == []
    # the tab: each request its viewer's matrix; the page itself only what anyone may see
    fake_kb.accounts.add("zoe", "zoetermeer", "reader", "a long password 1")
    fake_kb.accounts.add("del", "delft", "reader", "a long password 2")
    h = OverviewHandlers(fake_kb)
    own, other = SimpleNamespace(username="zoe"), SimpleNamespace(username="del")
    assert "1 van de" in h.summary("nl", own) and "1 van de" not in h.summary("nl", other)
    assert h.export_csv(own) != h.export_csv(other)
    with building_page():
        assert h.data().strategies == {}
    assert r.document_id
