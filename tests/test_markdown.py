from ingest.markdown import parse_markdown

GUIDE = """# 5. Foundations

Intro to the stage.

## Data management {#data-management}

Stage: foundations

### Purpose
Keep data findable and reliable.

### Pitfalls
No owner for key registers.

## Open data {#open-data}

Stage: foundations

Publish by default.
"""


def test_sections_keep_their_heading_path():
    md = parse_markdown(GUIDE)
    sections = [s.section for s in md.segments]
    assert "5. Foundations" in sections
    assert "5. Foundations > Data management > Pitfalls" in sections
    assert md.title == "5. Foundations"


def test_building_block_ids_are_read_and_tag_their_sections():
    md = parse_markdown(GUIDE)
    blocks = {b.id: b for b in md.blocks}
    assert set(blocks) == {"data-management", "open-data"}
    assert blocks["data-management"].name == "Data management"
    assert blocks["data-management"].stage == "foundations"
    assert "findable" in blocks["data-management"].text
    pitfalls = next(s for s in md.segments if s.section.endswith("Pitfalls"))
    assert pitfalls.building_blocks == ("data-management",)
    intro = next(s for s in md.segments if s.section == "5. Foundations")
    assert intro.building_blocks == ()


def test_front_matter_gives_title_and_metadata():
    md = parse_markdown(
        "---\ntitle: Digitale Koers\nmunicipality: delft\n---\n# Kop\n\nTekst hier.\n"
    )
    assert md.title == "Digitale Koers"
    assert md.front_matter["municipality"] == "delft"
    assert md.segments[0].text == "Tekst hier."


def test_hash_inside_code_fence_is_not_a_heading():
    md = parse_markdown("# T\n\n```\n# not a heading\n```\n")
    assert len(md.segments) == 1 and "# not a heading" in md.segments[0].text
