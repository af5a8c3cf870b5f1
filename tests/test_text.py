from ingest.text import normalize, strip_running_lines


def test_nfkc_turns_ligatures_into_letters():
    assert normalize("ﬁnancieel ﬂexibel") == "financieel flexibel"


def test_hyphenated_word_at_line_end_is_joined():
    assert normalize("de digi-\ntale strategie") == "de digitale strategie"


def test_real_compound_at_line_end_keeps_its_hyphen():
    assert normalize("provincie Zuid-\nHolland") == "provincie Zuid-Holland"


def test_running_header_and_page_numbers_are_dropped():
    bodies = ["Inleiding en context", "Ambitie voor 2030", "Inhoud van pagina drie",
              "Financien en planning", "Monitoring van resultaten"]  # fmt: skip
    pages = [
        f"Digitale Agenda 2030\n{b}\n{b.upper()} uitgewerkt\n{i}" for i, b in enumerate(bodies, 1)
    ]
    out = strip_running_lines(pages)
    assert all("Digitale Agenda 2030" not in p for p in out)
    assert all(not p.rstrip().split("\n")[-1].isdigit() for p in out)
    assert "Inhoud van pagina drie" in out[2]


def test_text_on_few_pages_is_left_alone():
    pages = ["Kop\nTekst een", "Kop\nTekst twee"]
    assert strip_running_lines(pages) == pages


def test_page_made_only_of_repeated_text_keeps_it():
    pages = ["habibi"] * 4
    assert strip_running_lines(pages) == pages
