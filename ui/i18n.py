"""The app's words in Dutch and English: one table, and a registry that relabels components.

Dutch is the default. The language is chosen in the browser (the `?lang=` parameter, else
the browser's language, else Dutch) or with the switch at the top; handlers take it as an
argument, so that messages, tables and figures come in the same language as the labels.

Gradio's own `gr.I18n` translates static labels by the browser's locale only, falls back
to English and cannot reach text that handlers produce; one table used on the server
serves both, and a switch can change it without reloading the page.
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("nl", "en")
DEFAULT = "nl"

# key: (Dutch, English). Placeholders in braces are filled by `t(key, lang, **values)`.
TABLE: dict[str, tuple[str, str]] = {
    # page
    "title": ("Kennisbank digitale strategieën — MRDH",
              "MRDH digital strategy knowledge base"),
    "heading": ("Kennisbank digitale strategieën — regio Rotterdam Den Haag",
                "Digital strategy knowledge base — Rotterdam–The Hague region"),
    "language": ("Taal / Language", "Taal / Language"),
    "logout": ("Uitloggen", "Log out"),
    "skip": ("Naar de vraag", "Skip to the question"),
    # tabs
    "tab_ask": ("Vragen", "Ask"),
    "tab_projects": ("Projecten", "Projects"),
    "tab_overview": ("Regio in één oogopslag", "The region at a glance"),
    "tab_map": ("Kaart", "Map"),
    "tab_collaborations": ("Samenwerking", "Collaborations"),
    "tab_check": ("Strategie toetsen", "Check"),
    "tab_documents": ("Documenten", "Documents"),
    # ask
    "filters": ("Zoeken beperken (gemeente, soort, bouwsteen)",
                "Narrow the search (municipality, kind, building block)"),
    "municipality": ("Gemeente", "Municipality"),
    "kind": ("Soort document", "Document kind"),
    "block": ("Bouwsteen", "Building block"),
    "any": ("(alle)", "(any)"),
    "kind_guide": ("handreiking", "guide"),
    "kind_strategy": ("strategie", "strategy"),
    "kind_project": ("project", "project"),
    "kind_other": ("overig", "other"),
    "chat": ("Antwoorden met bronvermelding", "Answers with citations"),
    "question": ("Uw vraag (Nederlands of Engels)", "Your question (Dutch or English)"),
    "question_ph": ("Bijvoorbeeld: welke gemeenten werken met parkeersensoren?",
                    "For example: which municipalities use parking sensors?"),
    "ask": ("Vraag stellen", "Ask"),
    "examples": ("Voorbeeldvragen", "Example questions"),
    "ex1": ("Welke gemeenten werken met parkeersensoren?",
            "Which municipalities use parking sensors?"),
    "ex2": ("Welke handelingsperspectieven geeft de handreiking voor datamanagement?",
            "Which action perspectives does the guide give for data management?"),
    "ex3": ("Hoe kunnen we ouderen digitaal vaardiger maken?",
            "How can we help older people with digital skills?"),
    "ex4": ("Hoe houden gemeenten algoritmes transparant?",
            "How do municipalities keep algorithms transparent?"),
    "working": ("Bezig met uw vraag…", "Working on your question…"),
    "ready": ("Antwoord gereed.", "Answer ready."),
    "sources": ("Bronnen", "Sources"),
    "searched": ("Ik zocht naar: {q}", "I searched for: {q}"),
    "writing": ("Het taalmodel schrijft het antwoord …",
                "The language model is writing the answer …"),
    "download_md": ("Download als Markdown", "Download as Markdown"),
    "sources_n": ("Bronnen ({n}) — tonen of verbergen", "Sources ({n}) — show or hide"),
    "no_sources": ("Nog geen bronnen: stel eerst een vraag.",
                   "No sources yet: ask a question first."),
    "open_source": ("Bron openen in de viewer", "Open a source in the viewer"),
    "page": ("p. {page}", "p. {page}"),
    "page_of": ("Pagina {page} van {pages}", "Page {page} of {pages}"),
    "download": ("PDF downloaden", "Download the PDF"),
    "prev_page": ("Vorige pagina", "Previous page"),
    "next_page": ("Volgende pagina", "Next page"),
    "viewer": ("Bronviewer", "Source viewer"),
    "viewer_alt": ("Pagina {page} van {title}; de geciteerde passage is geel gemarkeerd.",
                   "Page {page} of {title}; the cited passage is marked in yellow."),
    "passage_not_found": ("De passage staat niet letterlijk op deze pagina; hieronder de tekst.",
                          "The passage is not found verbatim on this page; its text is below."),
    "no_document": ("Dit document staat niet meer in de kennisbank.",
                    "This document is no longer in the knowledge base."),
    "nearest": ("Dichtstbijzijnde onderwerpen", "Nearest topics"),
    "cards_blocks": ("Bouwstenen", "Building blocks"),
    "cards_projects": ("Vergelijkbare projecten", "Comparable projects"),
    "project_link": ("Link naar dit project", "Link to this project"),
    "share_question": ("Link naar deze vraag", "Link to this question"),
    # projects
    "describe": ("Beschrijf een project", "Describe a project"),
    "pick": ("…of kies een project", "…or pick a project"),
    "exclude": ("Gemeente uitsluiten", "Exclude municipality"),
    "themes": ("Thema's (één ervan)", "Themes (any of)"),
    "stage": ("Fase in de waardeketen", "Value-chain stage"),
    "status": ("Status", "Status"),
    "find": ("Vergelijkbare projecten zoeken", "Find comparable projects"),
    "table_hint": ("Klik op een rij voor de details; klik op een kolomkop om te sorteren.",
                   "Click a row for the details; click a column header to sort."),
    "export_csv": ("Exporteren (CSV)", "Export (CSV)"),
    "need_text": ("Typ een beschrijving of kies een project.",
                  "Type a description or pick a project."),
    "no_projects": ("Geen vergelijkbare projecten gevonden.", "No comparable projects found."),
    "unknown_project": ("Onbekend project: {id}", "Unknown project: {id}"),
    "col_title": ("titel", "title"),
    "col_municipality": ("gemeente", "municipality"),
    "col_stage": ("fase", "stage"),
    "col_status": ("status", "status"),
    "col_score": ("score", "score"),
    "col_why": ("waarom", "why"),
    "col_id": ("id", "id"),
    "d_stage": ("fase", "stage"),
    "d_status": ("status", "status"),
    "d_since": ("sinds {year}", "since {year}"),
    "d_blocks": ("Bouwstenen", "Building blocks"),
    "d_themes": ("Thema's", "Themes"),
    "d_partners": ("Partners", "Partners"),
    "d_why": ("Waarom het past", "Why it matches"),
    # documents
    "documents": ("Documenten in de kennisbank", "Documents in the knowledge base"),
    "col_kind": ("soort", "kind"),
    "col_language": ("taal", "language"),
    "col_pages": ("pagina's", "pages"),
    "col_chunks": ("passages", "chunks"),
    "col_added": ("toegevoegd", "added"),
    "upload": ("Bestanden uploaden (PDF, Word, PowerPoint, Excel, OpenDocument, tekst, HTML, "
               "Markdown of CSV)",
               "Upload files (PDF, Word, PowerPoint, Excel, OpenDocument, text, HTML, Markdown "
               "or CSV)"),
    "upload_kind": ("Soort", "Kind"),
    "add": ("Toevoegen aan de kennisbank", "Add to the knowledge base"),
    "remove_id": ("Id van het document (verwijderen, delen of titel wijzigen)",
                  "Document id to remove, share or retitle"),
    "new_title": ("Nieuwe titel", "New title"),
    "retitle": ("Titel wijzigen", "Change title"),
    "retitled": ("Nieuwe titel: {title}", "New title: {title}"),
    "col_visibility": ("zichtbaar voor", "visible to"),
    "vis_regional": ("iedereen in de regio", "everyone in the region"),
    "vis_municipality": ("alleen de eigen gemeente", "my municipality only"),
    "visible_to": ("Zichtbaar voor", "Visible to"),
    "make_visible": ("Zichtbaar maken voor", "Make visible to"),
    "share": ("Zichtbaarheid wijzigen", "Change visibility"),
    "now_regional": ("{title}: zichtbaar voor de regio", "{title}: visible to the region"),
    "now_municipality": ("{title}: alleen zichtbaar voor de eigen gemeente",
                         "{title}: visible to its municipality only"),
    "remove": ("Verwijderen", "Remove"),
    "no_files": ("Geen bestanden.", "No files."),
    "removed": ("Verwijderd: {title}", "Removed {title}"),
    "no_such_document": ("Geen document met dat id.", "No document with that id."),
    "st_added": ("toegevoegd", "added"),
    "st_unchanged": ("ongewijzigd", "unchanged"),
    "st_replaced": ("vervangen", "replaced"),
    "st_failed": ("mislukt", "failed"),
    "st_pending": ("bezig", "pending"),
    "st_chunks": ("{n} passages", "{n} chunks"),
    "ingesting": ("bezig met {name}", "ingesting {name}"),
    # check
    "check_intro": ("Toets een concept-strategie aan de bouwstenen van de handreiking. Het "
                    "concept wordt alleen in het geheugen gelezen en niet bewaard, tenzij u "
                    "*toevoegen* aanvinkt.",
                    "Check a draft digital strategy against the guide's building blocks. The "
                    "draft is read in memory and not stored, unless you tick *add*."),
    "check_file": ("Concept-strategie (PDF, Word, ODT, HTML, Markdown of tekst)",
                   "Draft strategy (PDF, Word, ODT, HTML, Markdown or text)"),
    "check_municipality": ("Gemeente (anders uit het document)",
                           "Municipality (else from the document)"),
    "check_add": ("Ook toevoegen aan de kennisbank (alleen zichtbaar voor de eigen gemeente)",
                  "Also add it to the knowledge base (visible to its municipality only)"),
    "check_run": ("Toetsen", "Check"),
    "check_chart": ("Dekking per fase van de waardeketen", "Coverage by value-chain stage"),
    "check_first": ("Upload eerst een strategie (PDF).", "Upload a strategy PDF first."),
    "check_cannot": ("Toetsen lukt niet", "Cannot check"),
    "check_pages": ("{source}, {pages} pagina's, {chunks} passages: **{covered} gedekt**, "
                    "**{weak} zwak**, **{missing} ontbreekt** van {blocks} bouwstenen.",
                    "{source}, {pages} pages, {chunks} passages: **{covered} covered**, "
                    "**{weak} weak**, **{missing} missing** of {blocks} building blocks."),
    "check_added": ("{added}: bewaard in de kennisbank.", "{added}: stored in the knowledge base."),
    "no_gaps": ("Geen hiaten: elke bouwsteen is gedekt.",
                "No gaps: every building block is covered."),
    "gaps_head": ("Hiaten: wat de handreiking aanraadt, en wie in de regio eraan werkt",
                  "Gaps: what the guide suggests, and who in the region works on it"),
    "perspectives": ("Handelingsperspectieven", "Action perspectives"),
    "region_projects": ("Projecten in de regio:", "Projects in the region:"),
    "col_block": ("bouwsteen", "building block"),
    "col_evidence": ("onderbouwing (pagina: passage)", "evidence (page: passage)"),
    "covered": ("gedekt", "covered"),
    "weak": ("zwak", "weak"),
    "missing": ("ontbreekt", "missing"),
    "no_strategy": ("geen strategie", "no strategy"),
    # map and collaborations
    "theme": ("Thema", "Theme"),
    "map": ("Projectenkaart", "Project map"),
    "map_note": ("Grootte van de stip: aantal projecten; kleur: het meest voorkomende thema van "
                 "de gemeente (thema's op meer dan de helft van de getoonde projecten, zoals "
                 "*data*, tellen niet mee). Beweeg over een stip voor de projecten.",
                 "Marker size: number of projects; colour: the municipality's most frequent "
                 "theme (themes on more than half of the shown projects, such as *data*, are "
                 "passed over). Hover a marker for its projects."),
    "threshold": ("Drempel voor gelijkenis (cosinus van de projectvectoren)",
                  "Similarity threshold (cosine of the project vectors)"),
    "collab_map": ("Samenwerkingskaart", "Collaboration map"),
    "n_projects": ("{n} projecten", "{n} projects"),
    "unplaced": ("{n} zonder coördinaten", "{n} without coordinates"),
    "map_legend": ("kleur: meest voorkomend thema; grootte: projecten",
                   "colour: dominant theme; size: projects"),
    "dominant_theme": ("meest voorkomend thema", "dominant theme"),
    "hover_none": ("geen projecten", "no projects"),
    "hover_count": ("{n} projecten", "{n} projects"),
    "hover_count_1": ("1 project", "1 project"),
    "hover_theme": ("meest voorkomend thema: {theme}", "dominant theme: {theme}"),
    "hover_more": ("… en nog {n}", "… and {n} more"),
    "hover_pairs": ("{n} vergelijkbare projectpaar/-paren", "{n} comparable pair(s)"),
    "collab_title": ("Samenwerkingskaart — {n} kansen, {pairs} vergelijkbare projectparen bij "
                     "gelijkenis ≥ {threshold} (lijndikte: paren)",
                     "Collaboration map — {n} opportunities, {pairs} comparable project pairs "
                     "at similarity ≥ {threshold} (edge width: pairs)"),
    "collab_none": ("Geen twee gemeenten hebben projecten met gelijkenis ≥ {threshold} en een "
                    "gedeelde bouwsteen. Verlaag de drempel voor zwakkere overeenkomsten.",
                    "No two municipalities have projects with similarity ≥ {threshold} and a "
                    "shared building block. Lower the threshold for weaker matches."),
    "collab_head": ("**{n} kansen**, {pairs} vergelijkbare projectparen onder {projects} "
                    "projecten (gelijkenis ≥ {threshold}, minstens één gedeelde bouwsteen).",
                    "**{n} opportunities**, {pairs} comparable project pairs among {projects} "
                    "projects (similarity ≥ {threshold}, at least one shared building block)."),
    "already_partners": ("bij sommige al partners", "already partners on some"),
    "pairs": ("{n} paar/paren", "{n} pair(s)"),
    "best": ("beste", "best"),
    "collab_more": ("…en nog {n} (`kb collaborations --top N` toont ze allemaal).",
                    "…and {n} more (`kb collaborations --top N` lists them all)."),
    # overview
    "ov_intro": ("Welke bouwstenen van de handreiking dekken de strategieën van de gemeenten, "
                 "en hoeveel projecten lopen er per bouwsteen? Kies een gemeente en een "
                 "bouwsteen (of klik op een vakje) voor de onderbouwing.",
                 "Which of the guide's building blocks do the municipalities' strategies "
                 "cover, and how many projects run on each? Pick a municipality and a block "
                 "(or click a cell) for the evidence."),
    "ov_matrix": ("Dekking per gemeente en bouwsteen",
                  "Coverage by municipality and building block"),
    "ov_cell_muni": ("Gemeente", "Municipality"),
    "ov_cell_block": ("Bouwsteen", "Building block"),
    "ov_show": ("Onderbouwing tonen", "Show the evidence"),
    "ov_csv": ("Matrix als CSV", "Matrix as CSV"),
    "ov_png": ("Matrix als PNG", "Matrix as PNG"),
    "ov_export": ("Exporteren", "Export"),
    "ov_refresh": ("Vernieuwen", "Refresh"),
    "ov_none": ("Nog geen strategieën in de kennisbank: voeg er een toe op het tabblad "
                "Documenten.", "No strategies in the knowledge base yet: add one on the "
                "Documents tab."),
    "ov_summary": ("{strategies} van de {municipalities} gemeenten hebben een strategie in de "
                   "kennisbank; {projects} projecten.",
                   "{strategies} of the {municipalities} municipalities have a strategy in the "
                   "knowledge base; {projects} projects."),
    "ov_uncovered": ("Bouwstenen die geen enkele strategie dekt",
                     "Building blocks no strategy covers"),
    "ov_uncovered_none": ("Elke bouwsteen wordt door minstens één strategie gedekt.",
                          "Every building block is covered by at least one strategy."),
    "ov_furthest": ("Gemeenten het verst van de handreiking",
                    "Municipalities furthest from the guide"),
    "ov_without": ("Zonder strategie in de kennisbank", "Without a strategy in the knowledge base"),
    "ov_share": ("{share:.0%} van de handreiking, {missing} bouwstenen ontbreken",
                 "{share:.0%} of the guide, {missing} blocks missing"),
    "ov_cell_head": ("{block} — {municipality}: {status}", "{block} — {municipality}: {status}"),
    "ov_evidence": ("Passages uit de strategie", "Passages from the strategy"),
    "ov_no_evidence": ("Geen passage in de strategie gaat over deze bouwsteen.",
                       "No passage in the strategy speaks to this building block."),
    "ov_projects": ("Projecten op deze bouwsteen", "Projects on this building block"),
    "ov_no_projects": ("Geen projecten van deze gemeente op deze bouwsteen.",
                       "No projects of this municipality on this building block."),
    "ov_pick": ("Kies een gemeente en een bouwsteen.", "Pick a municipality and a building block."),
    "ov_legend": ("■ gedekt · ◧ zwak · □ ontbreekt · — geen strategie; het getal is het aantal "
                  "projecten.", "■ covered · ◧ weak · □ missing · — no strategy; the number "
                  "counts the projects."),
    "ov_projects_col": ("projecten", "projects"),
    # stages
    "stage_ambition": ("ambitie", "ambition"),
    "stage_organisation": ("organisatie", "organisation"),
    "stage_foundations": ("fundament", "foundations"),
    "stage_applications": ("toepassingen", "applications"),
    "stage_public-value": ("publieke waarde", "public value"),
    "status_idea": ("idee", "idea"),
    "status_pilot": ("pilot", "pilot"),
    "status_implementation": ("in uitvoering", "implementation"),
    "status_scaled": ("opgeschaald", "scaled"),
    "status_stopped": ("gestopt", "stopped"),
    "why_blocks": ("gedeelde bouwstenen: {names}", "shared building blocks: {names}"),
    "why_themes": ("gedeelde thema's: {names}", "shared themes: {names}"),
    "why_words": ("overeenkomende woorden: {names}", "matching words: {names}"),
    "why_similar": ("vergelijkbare beschrijving (score {score})",
                    "similar description (score {score})"),
}


def lang_of(value: str | None) -> str:
    """A supported language from a code such as 'en-GB', or the default."""
    code = (value or "").strip().lower()[:2]
    return code if code in LANGS else DEFAULT


def t(key: str, lang: str = DEFAULT, **values) -> str:
    """The text for `key` in `lang` (Dutch when unknown), with `values` filled in."""
    pair = TABLE.get(key)
    if pair is None:
        return key
    text = pair[LANGS.index(lang_of(lang))]
    return text.format(**values) if values else text


def stage_name(stage: str | None, lang: str) -> str:
    return t(f"stage_{stage}", lang) if stage and f"stage_{stage}" in TABLE else (stage or "")


def status_name(status: str | None, lang: str) -> str:
    """A project's status (idea, pilot, ...) in `lang`; an unknown one as it is."""
    return t(f"status_{status}", lang) if status and f"status_{status}" in TABLE else (status or "")


class Labels:
    """Components whose texts come from the table: `updates(lang)` relabels them all.

    `add(component, label="key", ...)` registers string properties by key; `dynamic`
    registers a component whose update is computed (choices, headers, a table in a new
    language).
    """

    def __init__(self) -> None:
        self._entries: list[tuple[object, Callable[[str], dict]]] = []

    def add(self, component, **keys: str):
        self._entries.append((component, lambda lang: {p: t(k, lang) for p, k in keys.items()}))
        return component

    def dynamic(self, component, make: Callable[[str], dict]):
        self._entries.append((component, make))
        return component

    @property
    def components(self) -> list:
        return [c for c, _ in self._entries]

    def updates(self, lang: str) -> list:
        import gradio as gr

        return [gr.update(**make(lang)) for _, make in self._entries]
