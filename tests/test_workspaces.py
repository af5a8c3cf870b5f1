"""Workspaces (#17): the leak matrix through the Python API and the CLI.

Two municipalities, Delft and Schiedam, each with a private document and a private project
(visibility `municipality`), beside the regional guide and regional projects. For every path
that shows documents (ask, similar, projects, the map, collaborations, the strategy check,
the documents list, stats, audit, remove and visibility changes), a user of one never sees
the other's: no title, id, marker word, count, dot or edge; region admins see both.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.embedder import HashingEmbedder
from kb import check as strategy_check
from kb import regional
from kb.access import AccessDenied, Viewer
from tests.conftest import CORPUS, make_pdf

# Words that occur only in one municipality's private document and private project.
SECRETS = {
    "delft": {"words": ["Zwanenveer", "Zwanenveerproject"], "project": "delft-geheim-zwanenveer"},
    "schiedam": {"words": ["Kraaienhorst", "Kraaienhorstproject"],
                 "project": "schiedam-geheim-kraaienhorst"},
}  # fmt: skip
PASSWORD = "correct horse battery"
USERS = {  # name: (municipality, role)
    "anna": ("delft", "editor"),
    "dirk": ("delft", "reader"),
    "sara": ("schiedam", "editor"),
    "sem": ("schiedam", "reader"),
    "ria": ("regional", "admin"),
    "rob": ("regional", "reader"),
}


def _project_yaml(folder: Path, pid: str, municipality: str, title: str, summary: str) -> Path:
    path = folder / f"{pid}.yaml"
    path.write_text(
        f"id: {pid}\ntitle: {title}\nmunicipality: {municipality}\npartners: []\n"
        "themes: [data, mobility]\nbuilding_blocks: [data-management, sensors-iot]\n"
        "stage: foundations\nstatus: pilot\nstart_year: 2025\nbudget_eur: 10000\n"
        f"contact: Team data\nlanguage: nl\nsummary: {summary}\n"
        f"description: {summary} Sensoren meten parkeerdruk en de data gaan naar een dashboard.\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The knowledge base of the matrix, built once (fake hash embedder)."""
    from kb.core import KnowledgeBase

    home = tmp_path_factory.mktemp("workspaces")
    src = tmp_path_factory.mktemp("workspaces-src")
    kb = KnowledgeBase(home, embedder=HashingEmbedder())
    kb.catalogue.register_municipalities(CORPUS / "municipalities.yaml")
    kb.ingest([CORPUS / "guide"], kind="guide")
    public = src / "public"
    public.mkdir()
    for pid, muni in (("delft-open-parkeren", "delft"), ("schiedam-open-parkeren", "schiedam"),
                      ("vlaardingen-open-parkeren", "vlaardingen")):  # fmt: skip
        _project_yaml(public, pid, muni, f"Open parkeersensoren {muni}",
                      "Parkeersensoren en open data over parkeerdruk in de binnenstad.")
    kb.ingest([public], kind="project")
    ids: dict[str, dict] = {}
    for muni, secret in SECRETS.items():
        word, pword = secret["words"]
        doc = src / f"{muni}-intern.md"
        doc.write_text(f"# Interne notitie {word}\n\nDe gemeente werkt vertrouwelijk aan het "
                       f"{word} plan: parkeersensoren en data voor de binnenstad.\n")  # fmt: skip
        folder = src / f"{muni}-projects"
        folder.mkdir()
        _project_yaml(folder, secret["project"], muni, f"Geheim {pword}",
                      f"Het {pword} meet parkeerdruk met sensoren en deelt data.")
        res = kb.ingest([doc], municipality=muni, visibility="municipality")
        res += kb.ingest([folder], kind="project", visibility="municipality")
        assert [r.status for r in res] == ["added", "added"], res
        ids[muni] = {"doc": res[0].document_id, "project_doc": res[1].document_id}
    for name, (muni, role) in USERS.items():
        kb.accounts.add(name, muni, role, PASSWORD)
    yield kb, home, ids, src
    kb.close()


def viewer(kb, name: str) -> Viewer:
    v = kb.accounts.viewer(name)
    assert v is not None
    return v


def foreign(name: str) -> list[str]:
    """The municipalities whose secrets `name` must never see."""
    muni, role = USERS[name]
    if role == "admin":
        return []
    return [m for m in SECRETS if m != muni]


def own(name: str) -> list[str]:
    muni, role = USERS[name]
    return list(SECRETS) if role == "admin" else [m for m in SECRETS if m == muni]


def marks(m: str, ids: dict) -> list[str]:
    s = SECRETS[m]
    return [*s["words"], s["project"], ids[m]["doc"], ids[m]["project_doc"],
            ids[m]["doc"][:12], ids[m]["project_doc"][:12]]  # fmt: skip


def text_of(obj) -> str:
    """The JSON of a result, without the echo of the viewer's own question or query."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except ValueError:
            return obj
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items()
               if k not in ("question", "query", "resolved_question")}  # fmt: skip
        if isinstance(obj.get("turn"), dict):  # what a follow-up needs: the question again
            obj["turn"] = {k: v for k, v in obj["turn"].items()
                           if k not in ("question", "resolved")}  # fmt: skip
    return json.dumps(obj, ensure_ascii=False, default=lambda o: asdict(o) if hasattr(
        o, "__dataclass_fields__") else str(o))  # fmt: skip


def assert_sees(name: str, obj, ids: dict, expect_own: bool = True) -> None:
    """No foreign secret in obj; each own secret in it (when the path should show it)."""
    text = text_of(obj)
    for m in foreign(name):
        leaked = [w for w in marks(m, ids) if w in text]
        assert not leaked, f"{name} sees {m}'s {leaked}"
    if expect_own:
        for m in own(name):
            assert SECRETS[m]["words"][0] in text or SECRETS[m]["project"] in text, (
                f"{name} misses {m}'s own document")


# ---- the matrix: every path x every user --------------------------------------------------
def _ask(kb, v, m):
    word = SECRETS[m]["words"][0]
    return kb.ask(f"Wat is het {word} plan met parkeersensoren?", k=8, viewer=v).to_dict()


def _ask_projects(kb, v, m):
    return kb.ask(f"{SECRETS[m]['words'][1]} parkeerdruk sensoren", kind="project", k=8,
                  viewer=v).to_dict()  # fmt: skip


def _similar_text(kb, v, m):
    return kb.similar(f"{SECRETS[m]['words'][1]} meet parkeerdruk met sensoren", k=10,
                      exclude_municipality="", viewer=v)  # fmt: skip


def _similar_project(kb, v, m):
    return kb.similar(project_id="vlaardingen-open-parkeren", k=10, viewer=v)


def _projects(kb, v, m):
    return kb.projects(v)


def _map(kb, v, m):
    return regional.project_map(kb, viewer=v).to_dict()


def _collaborations(kb, v, m):
    return regional.collaborations(kb, threshold=-1.0, viewer=v).to_dict()


def _documents(kb, v, m):
    return [asdict(d) for d in kb.documents(viewer=v)]


def _chunk_counts(kb, v, m):
    return kb.chunk_counts(v)


def _audit(kb, v, m):
    return kb.audit(v)


def _check(kb, v, m, _cache={}):  # noqa: B006 - one draft per test module run
    draft = _cache.get("draft")
    if draft is None:
        draft = _cache["draft"] = make_pdf(kb.home.parent / "draft-strategy.pdf", [
            "Onze digitale strategie: parkeersensoren, data en sensoren in de binnenstad.",
            "Wij werken aan dienstverlening en digitale vaardigheden van inwoners."])  # fmt: skip
    return strategy_check.check(kb, draft, viewer=v).to_dict()


PATHS = {  # name: (call, shows the viewer's own secret)
    "ask": (_ask, True),
    "ask-projects": (_ask_projects, True),
    "similar-text": (_similar_text, True),
    "similar-project": (_similar_project, True),
    "projects": (_projects, True),
    "map": (_map, True),
    "collaborations": (_collaborations, True),
    "documents": (_documents, True),
    "chunk-counts": (_chunk_counts, False),  # ids only: the own-secret words are not in it
    "audit": (_audit, False),
    "check": (_check, False),  # the gaps list a few projects, not necessarily the own one
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("name", sorted(USERS))
def test_leak_matrix_python_api(world, name, path):
    kb, _, ids, _ = world
    call, shows_own = PATHS[path]
    v = viewer(kb, name)
    # asked about each municipality's secret in turn: the foreign one must stay hidden
    for m in SECRETS:
        out = call(kb, v, m)
        assert_sees(name, out, ids, expect_own=False)
    if shows_own and own(name):
        for m in own(name):
            assert_sees(name, call(kb, v, m), ids, expect_own=True)


@pytest.mark.parametrize("name", sorted(USERS))
def test_counts_single_lookups_and_writes_respect_the_viewer(world, name):
    kb, _, ids, _ = world
    v = viewer(kb, name)
    everything = kb.stats()
    mine = kb.stats(v)
    hidden = len(foreign(name))
    assert mine["documents"] == everything["documents"] - 2 * hidden
    assert mine["projects"] == everything["projects"] - hidden
    assert mine["chunks"] < everything["chunks"] or not hidden
    assert mine["vectors"] == mine["chunks"] or not hidden
    assert ("generation" in mine) == (USERS[name][1] == "admin")
    for m in SECRETS:
        visible = m not in foreign(name)
        assert (kb.document(ids[m]["doc"], v) is not None) == visible
        assert (kb.resolve_document(ids[m]["doc"][:10], v) is not None) == visible
        assert (kb.project(SECRETS[m]["project"], v) is not None) == visible
        if not visible:
            with pytest.raises(KeyError):
                kb.similar(project_id=SECRETS[m]["project"], viewer=v)
            # a hidden document cannot be removed or re-scoped: to this viewer it is not there
            assert kb.remove(ids[m]["doc"], viewer=v) is None
            assert kb.set_visibility(ids[m]["doc"], "regional", viewer=v) is None
    # the map: the other municipality's dot counts only its regional project
    markers = regional.project_map(kb, viewer=v).to_dict()["markers"]
    counts = {mk["id"]: mk["count"] for mk in markers}
    for m in SECRETS:
        assert counts[m] == (1 if m in foreign(name) else 2)


def test_collaboration_edges_between_private_projects_only_for_admins(world):
    kb, _, ids, _ = world

    def pairs(v):
        c = regional.collaborations(kb, threshold=-1.0, viewer=v)
        return {frozenset((p.a["id"], p.b["id"])) for o in c.opportunities for p in o.pairs}

    both = frozenset(s["project"] for s in SECRETS.values())
    assert both in pairs(viewer(kb, "ria")) and both in pairs(None)
    for name in ("anna", "dirk", "sara", "sem", "rob"):
        found = pairs(viewer(kb, name))
        assert both not in found
        assert not any(SECRETS[m]["project"] in p for m in foreign(name) for p in found)


def test_readers_cannot_write_and_editors_only_their_own(world, tmp_path):
    kb, _, ids, _ = world
    doc = tmp_path / "nota.md"
    doc.write_text("# Nota\n\nEen korte nota over glasvezel.\n")
    with pytest.raises(AccessDenied):
        kb.ingest([doc], viewer=viewer(kb, "dirk"))  # a reader
    with pytest.raises(AccessDenied):
        kb.ingest([doc], municipality="Schiedam", viewer=viewer(kb, "anna"))  # not hers
    with pytest.raises(AccessDenied):  # she sees Delft's document but edits only her own
        kb.remove(ids["delft"]["doc"], viewer=viewer(kb, "dirk"))
    # An editor's upload is her municipality's, whatever the file says
    [r] = kb.ingest([doc], visibility="municipality", viewer=viewer(kb, "anna"))
    assert r.status == "added"
    stored = kb.document(r.document_id)
    assert stored.municipality == "delft" and stored.visibility == "municipality"
    assert kb.document(r.document_id, viewer(kb, "sara")) is None
    # she shares it with the region: now Schiedam sees it; the audit log has each step
    assert kb.set_visibility(r.document_id, "regional", viewer(kb, "anna")) is not None
    assert kb.document(r.document_id, viewer(kb, "sara")) is not None
    assert kb.remove(r.document_id, viewer=viewer(kb, "anna")).id == r.document_id
    log = [(e["actor"], e["action"]) for e in kb.audit() if e["document_id"] == r.document_id]
    assert log == [("anna", "added"), ("anna", "visibility"), ("anna", "removed")]
    # a project record of another municipality is never replaced by an editor's upload
    clash = _project_yaml(tmp_path, SECRETS["schiedam"]["project"], "delft", "Overname",
                          "Een poging het project van Schiedam te vervangen.")  # fmt: skip
    [r] = kb.ingest([clash], kind="project", viewer=viewer(kb, "anna"))
    assert r.status == "failed" and "another municipality" in r.reason
    assert kb.project(SECRETS["schiedam"]["project"])["municipality"] == "schiedam"


def test_check_add_stores_the_draft_for_its_municipality(world, tmp_path):
    kb, _, _, _ = world
    draft = make_pdf(tmp_path / "concept-delft.pdf", [
        "Concept: de Meeuwenhof strategie voor data en sensoren in Delft."])  # fmt: skip
    with pytest.raises(strategy_check.CheckError):  # a reader adds nothing
        strategy_check.check(kb, draft, add=True, viewer=viewer(kb, "dirk"))
    res = strategy_check.check(kb, draft, add=True, viewer=viewer(kb, "anna"))
    assert res.added == "added" and res.municipality == "delft"
    [doc] = [d for d in kb.documents() if "Meeuwenhof" in str(kb.store.chunks_of(d.id))]
    assert doc.visibility == "municipality"
    answer = kb.ask("Meeuwenhof strategie", viewer=viewer(kb, "sem")).to_dict()
    assert "Meeuwenhof" not in text_of(answer)
    answer = kb.ask("Meeuwenhof strategie", viewer=viewer(kb, "dirk")).to_dict()
    assert "Meeuwenhof" in text_of(answer)
    kb.remove(doc.id)


# ---- the CLI --------------------------------------------------------------------------------
CLI_PATHS = {
    "ask": lambda m: ["ask", f"Wat is het {SECRETS[m]['words'][0]} plan?", "--json"],
    "ask-projects": lambda m: ["ask", f"{SECRETS[m]['words'][1]} parkeerdruk", "--kind",
                               "project", "--json"],
    "similar": lambda m: ["similar", f"{SECRETS[m]['words'][1]} parkeerdruk sensoren", "-k",
                          "10", "--exclude-municipality", "", "--json"],
    "list": lambda m: ["list", "--json"],
    "stats": lambda m: ["stats", "--json"],
    "collaborations": lambda m: ["collaborations", "--threshold", "-1", "--top", "100", "--json"],
    "audit": lambda m: ["audit", "--json"],
}  # fmt: skip


@pytest.fixture(scope="module")
def cli_env(world):
    kb, home, ids, _ = world
    return {"KB_HOME": str(home), "KB_EMBED_MODEL": "hash"}


def run_cli(env: dict, *args: str) -> tuple[int, str]:
    from ui.cli import cli

    r = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return r.exit_code, r.output


@pytest.mark.parametrize("path", sorted([*CLI_PATHS, "map"]))
@pytest.mark.parametrize("name", sorted(USERS))
def test_leak_matrix_cli(world, cli_env, name, path, tmp_path):
    _, _, ids, _ = world
    for m in SECRETS:
        if path == "map":
            out_file = tmp_path / "map.html"
            code, out = run_cli(cli_env, "--user", name, "map", "--out", str(out_file))
            out += out_file.read_text(encoding="utf-8")
        else:
            code, out = run_cli(cli_env, "--user", name, *CLI_PATHS[path](m))
        assert code == 0, out
        assert_sees(name, out, ids, expect_own=False)
    if path in ("list", "similar", "map") and own(name):
        assert_sees(name, out, ids, expect_own=True)


def test_cli_users_passwords_and_refusals(world, cli_env):
    kb, _, ids, _ = world
    from ui.cli import cli

    r = CliRunner().invoke(cli, ["users", "add", "kim", "--municipality", "Schiedam", "--role",
                                 "reader", "--password-stdin"], input="kims-password\n",
                           env=cli_env)  # fmt: skip
    assert r.exit_code == 0 and "reader of schiedam" in r.output, r.output
    code, out = run_cli(cli_env, "users", "list", "--json")
    users = {u["name"]: u for u in json.loads(out)["users"]}
    assert users["kim"]["municipality"] == "schiedam" and "kims-password" not in out
    assert "argon2" not in out and "hash" not in out  # no password hash leaves the store
    assert kb.accounts.authenticate("kim", "kims-password", "cli-test") is not None
    r = CliRunner().invoke(cli, ["users", "passwd", "kim", "--password-stdin"],
                           input="another-password\n", env=cli_env)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert kb.accounts.authenticate("kim", "kims-password", "cli-test-2") is None
    # only admins manage accounts; a reader cannot remove another municipality's document
    code, out = run_cli(cli_env, "--user", "kim", "users", "list")
    assert code != 0 and "admin" in out
    code, out = run_cli(cli_env, "--user", "kim", "remove", ids["delft"]["doc"])
    assert code != 0 and "no document" in out  # hidden: not even "not yours"
    code, out = run_cli(cli_env, "--user", "kim", "visibility", ids["delft"]["doc"], "regional")
    assert code != 0
    code, out = run_cli(cli_env, "users", "remove", "kim")
    assert code == 0 and kb.accounts.viewer("kim") is None
    code, out = run_cli(cli_env, "--user", "nobody", "stats")
    assert code != 0 and "no user" in out


def test_ingest_visibility_from_the_cli(world, cli_env, tmp_path):
    kb, _, _, _ = world
    doc = tmp_path / "maassluis-intern.md"
    doc.write_text("# Maassluis intern\n\nDe Havenkraan notitie blijft binnen Maassluis.\n")
    code, out = run_cli(cli_env, "ingest", str(doc), "--visibility", "municipality", "--json")
    assert code == 1 and "needs a municipality" in out  # no municipality: refused
    code, out = run_cli(cli_env, "ingest", str(doc), "--municipality", "Maassluis",
                        "--visibility", "municipality", "--json")  # fmt: skip
    assert code == 0, out
    [r] = json.loads(out)["results"]
    assert kb.document(r["document_id"]).visibility == "municipality"
    code, out = run_cli(cli_env, "--user", "sem", "ask", "Havenkraan notitie", "--json")
    assert "Havenkraan" not in text_of(out)
    code, out = run_cli(cli_env, "--user", "ria", "ask", "Havenkraan notitie", "--json")
    assert "Havenkraan" in text_of(out)  # the admin sees it
    code, out = run_cli(cli_env, "audit", "--json")
    entry = [e for e in json.loads(out)["entries"] if e["document_id"] == r["document_id"]]
    assert entry[0]["actor"] == "cli" and entry[0]["action"] == "added"
    kb.remove(r["document_id"])


# ---- the store's schema ---------------------------------------------------------------------
def test_a_schema_1_store_is_migrated_in_place(tmp_path):
    import sqlite3

    from kb.core import KnowledgeBase

    home = tmp_path / "old"
    kb = KnowledgeBase(home, embedder=HashingEmbedder())
    doc = tmp_path / "a.md"
    doc.write_text("# A\n\nEen document van voor de accounts.\n")
    [r] = kb.ingest([doc])
    kb.close()
    # make it a schema-1 store: no visibility column, no account tables
    db = sqlite3.connect(home / "kb.sqlite")
    db.executescript("DROP TABLE users; DROP TABLE sessions; DROP TABLE audit;"
                     "ALTER TABLE documents DROP COLUMN visibility;"
                     "UPDATE manifest SET value = '1' WHERE key = 'schema';")  # fmt: skip
    db.close()
    kb = KnowledgeBase(home, embedder=HashingEmbedder())
    assert kb.store.manifest()["schema"] == "2"
    assert kb.document(r.document_id).visibility == "regional"
    assert not kb.accounts.enabled
    kb.accounts.add("ria", "regional", "admin", PASSWORD)
    assert kb.accounts.enabled and kb.ask("document accounts").sources
    kb.close()


def test_the_same_file_as_another_municipalitys_private_one_names_nothing(world, tmp_path):
    kb, _, ids, src = world
    copy = tmp_path / "gevonden.md"
    copy.write_bytes((src / "schiedam-intern.md").read_bytes())
    [r] = kb.ingest([copy], viewer=viewer(kb, "anna"))
    assert r.status == "unchanged" and r.document_id is None and r.title is None
    assert kb.document(ids["schiedam"]["doc"]).municipality == "schiedam"  # still theirs


def test_reindex_keeps_each_documents_visibility(world):
    kb, _, ids, _ = world
    before = {d.id: d.visibility for d in kb.documents()}
    kb.reindex()
    assert {d.id: d.visibility for d in kb.documents()} == before
    assert kb.document(ids["delft"]["doc"], viewer(kb, "sem")) is None
    assert kb.stats(viewer(kb, "sem"))["documents"] == kb.stats()["documents"] - 2
