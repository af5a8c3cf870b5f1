"""The `kb` command: parses input, calls the KnowledgeBase, formats output. No logic of its
own. Settings are read from the environment here, once, and passed down."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.catalogue import STAGES, STATUSES

KINDS = click.Choice(["guide", "strategy", "project", "other"])


def _kb(check_model: bool = True):
    # Imported here so that `kb --help` stays instant (no numpy, faiss or torch).
    from kb.core import KnowledgeBase
    from kb.errors import EmbedderUnavailable, StoreError

    try:
        return KnowledgeBase.from_env(check_model=check_model)
    except (StoreError, EmbedderUnavailable) as e:
        raise click.ClickException(str(e)) from e


def _viewer(kb):
    """Whom the command acts for: `kb --user NAME` (what that account sees and may do), else
    the terminal's user with full access, recorded as `cli` in the audit log."""
    from kb.access import Viewer

    name = click.get_current_context().find_root().params.get("as_user")
    if not name:
        return Viewer.local("cli")
    viewer = kb.accounts.viewer(name)
    if viewer is None:
        raise click.ClickException(f"no user '{name}' (see `kb users list`)")
    return viewer


def _denied(e: Exception) -> click.ClickException:
    return click.ClickException(str(e))


def _json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=lambda o: o.__dict__))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--user", "as_user", metavar="NAME",
              help="Act as this account: see and change only what it may (default: the "
                   "terminal's user, who sees everything).")  # fmt: skip
def cli(as_user) -> None:
    """Knowledge base for the digital strategies of the Rotterdam–The Hague region.

    Data lives in KB_HOME (default .kb). See the README for every setting.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--municipality", help="Municipality the documents belong to (name or id).")
@click.option("--kind", type=KINDS, help="Kind of document; by default from the folder name.")
@click.option("--password", help="Password for encrypted PDFs.")
@click.option("--visibility", type=click.Choice(["regional", "municipality"]), default="regional",
              show_default=True, help="Who sees the documents: everyone, or only the users of "
              "their municipality.")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="Only the summary and the failures.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every result.")
def ingest(paths, municipality, kind, password, visibility, quiet, as_json) -> None:
    """Add PDFs, Markdown files, project YAML/CSV files or whole folders."""
    from kb.access import AccessDenied

    kb = _kb()
    viewer = _viewer(kb)

    def show(r) -> None:
        if as_json or (quiet and r.status != "failed"):
            return
        from tqdm import tqdm

        # tqdm.write keeps the lines clear of the progress bar.
        tqdm.write(r.line(), file=sys.stderr if r.status == "failed" else sys.stdout)

    try:
        results = kb.ingest(
            paths, kind=kind, municipality=municipality, password=password, on_result=show,
            progress=not as_json, visibility=visibility, viewer=viewer,
        )  # fmt: skip
    except (AccessDenied, ValueError) as e:
        raise _denied(e) from e
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    if as_json:
        _json({"results": [r.__dict__ for r in results], "counts": counts})
    else:
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        stats = kb.stats(viewer)
        click.echo(f"{summary}; store: {stats['documents']} documents, {stats['chunks']} chunks")
    sys.exit(1 if counts.get("failed") else 0)


@cli.command()
@click.argument("question")
@click.option("--municipality", help="Only sources of this municipality.")
@click.option("--kind", type=KINDS, help="Only sources of this kind.")
@click.option("--building-block", help="Only sources tagged with this building-block id.")
@click.option("-k", "k", default=5, show_default=True, help="Number of sources.")
@click.option("--since", type=int, help="Only documents dated this year or later.")
@click.option("--history", type=click.File("r", encoding="utf-8"),
              help="The earlier turns as JSON (a list of the `turn` objects of earlier "
                   "`--json` answers, oldest first): a follow-up is resolved against them.")
@click.option("--markdown", "as_markdown", is_flag=True,
              help="The answer with its sources as Markdown (links to the page of each file).")
@click.option("--json", "as_json", is_flag=True)
def ask(question, municipality, kind, building_block, k, since, history, as_markdown,
        as_json) -> None:  # fmt: skip
    """Answer a question with citations to document and page or section."""
    kb = _kb()
    turns = json.load(history) if history else None
    if turns is not None and not isinstance(turns, list):
        raise click.UsageError("--history must hold a JSON list of turns")
    options = dict(municipality=municipality, kind=kind, k=k, building_block=building_block,
                   history=turns, since=since, viewer=_viewer(kb))  # fmt: skip
    if as_json:
        _json(kb.ask(question, **options).to_dict())
    elif as_markdown:
        click.echo(_markdown(kb, kb.ask(question, **options)))
    else:
        _print_answer(kb.ask_stream(question, **options))


def _markdown(kb, answer) -> str:
    from kb.export import answer_markdown_export

    links = {}
    for s in answer.sources:
        doc = kb.document(s.document_id)
        if doc is not None and doc.stored_path:
            links[s.document_id] = (kb.home / doc.stored_path).resolve().as_uri()
    return answer_markdown_export(answer, links)


def _print_answer(answers):
    """Print an answer as it is written (with a language model, a checked sentence at a
    time; see `KnowledgeBase.ask_stream`), then its sources; returns the finished answer."""
    shown, answer = None, None
    for answer in answers:
        if shown is None:
            shown = ""
            if answer.resolved_question:
                searched = "Ik zocht naar" if answer.language == "nl" else "I searched for"
                click.echo(f"({searched}: {answer.resolved_question})\n")
        if answer.answer.startswith(shown):
            click.echo(answer.answer[len(shown):], nl=False)
        else:  # the model failed midway: the composed answer follows what it wrote
            click.echo(f"\n\n{answer.answer}", nl=False)
        shown = answer.answer
    assert answer is not None
    click.echo()
    if answer.note:
        click.echo(f"\n{answer.note}")
    if not answer.answered and answer.nearest_topics:
        click.echo("Nearest topics: " + "; ".join(answer.nearest_topics))
    if answer.sources:
        click.echo("\nSources:")
        for s in answer.sources:
            where = f", {s.where}" if s.where else ""
            where += f", {s.date}" if s.date else ""
            where += ", OCR" if s.ocr else ""
            click.echo(f"  [{s.n}] {s.title}{where} ({s.source}) score {s.score:.2f}")
            click.echo(f"      {s.snippet}")
    if answer.building_blocks:
        blocks = ", ".join(f"{b.name} ({b.stage})" for b in answer.building_blocks)
        click.echo("\nBuilding blocks: " + blocks)
    if answer.projects:
        click.echo("Comparable projects: " + "; ".join(
            f"{p.title} ({p.municipality})" for p in answer.projects))  # fmt: skip
    return answer


@cli.command()
@click.option("--municipality", help="Only sources of this municipality.")
@click.option("-k", "k", default=5, show_default=True, help="Number of sources.")
def chat(municipality, k) -> None:
    """Ask questions in turn, in the terminal; follow-ups ("En in Delft?") lean on the
    previous answer. An empty line or Ctrl-D ends the session."""
    kb = _kb()
    turns: list[dict] = []
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            break
        if not question:
            break
        answer = _print_answer(kb.ask_stream(question, municipality=municipality, k=k,
                                             history=turns, viewer=_viewer(kb)))  # fmt: skip
        turns = (turns + [answer.turn])[-5:]


@cli.command()
@click.argument("text", required=False)
@click.option("--project", "project_id", help="Find projects comparable to this project id.")
@click.option("--exclude-municipality", help="Leave out this municipality's projects.")
@click.option(
    "--theme", "themes", multiple=True, help="Only projects with this theme (repeatable)."
)
@click.option("--stage", type=click.Choice(STAGES), help="Only projects at this value-chain stage.")
@click.option("--status", type=click.Choice(STATUSES), help="Only projects with this status.")
@click.option("-k", "k", default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def similar(text, project_id, exclude_municipality, themes, stage, status, k, as_json) -> None:
    """Comparable projects in other municipalities, by free text or by project."""
    if bool(text) == bool(project_id):
        raise click.UsageError("give either TEXT or --project ID")
    kb = _kb()
    try:
        results = kb.similar(text=text, project_id=project_id, k=k,
                             exclude_municipality=exclude_municipality, themes=themes,
                             stage=stage, status=status, viewer=_viewer(kb))  # fmt: skip
    except KeyError as e:
        raise click.ClickException(e.args[0]) from e
    if as_json:
        _json({"query": text or project_id, "results": [r.__dict__ for r in results]})
        return
    for r in results:
        click.echo(f"{r.score:.2f}  {r.title} — {kb.municipality_name(r.municipality)} [{r.id}]")
        click.echo(f"      {r.why}")
    if not results:
        click.echo("No comparable projects found.")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json) -> None:
    """What is in the knowledge base."""
    kb = _kb(check_model=False)
    s = kb.stats(_viewer(kb))
    if as_json:
        _json(s)
        return
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(s["by_kind"].items()))
    click.echo(
        f"{s['documents']} documents ({kinds}), {s['chunks']} chunks, {s['projects']} projects"
    )
    click.echo(
        f"model {s['model']} ({s['dimension']} dimensions), index {s['index']}, in {s['home']}"
    )


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_documents(as_json) -> None:
    """The documents in the knowledge base, with their ids."""
    kb = _kb(check_model=False)
    docs = kb.documents(viewer=_viewer(kb))
    if as_json:
        _json({"documents": [{k: v for k, v in d.__dict__.items() if k != "meta"} for d in docs]})
        return
    for d in docs:
        private = "private " if d.visibility == "municipality" else "        "
        click.echo(f"{d.id[:12]}  {d.kind:<8} {private}{d.municipality or '-':<24} "
                   f"{d.title[:70]}")  # fmt: skip


@cli.command()
@click.argument("document_id")
def remove(document_id) -> None:
    """Remove a document (its id, or a unique prefix of 8+ characters, from `kb list`)."""
    from kb.access import AccessDenied

    kb = _kb()
    try:
        doc = kb.remove(document_id, viewer=_viewer(kb))
    except AccessDenied as e:
        raise _denied(e) from e
    if doc is None:
        raise click.ClickException(f"no document with id '{document_id}'")
    click.echo(f"removed: {doc.title} ({doc.id[:12]})")


@cli.command()
@click.argument("document_id")
@click.argument("title")
def title(document_id, title) -> None:
    """Give a document (its id, or a unique prefix of 8+ characters) the title users know."""
    doc = _kb().set_title(document_id, title)
    if doc is None:
        raise click.ClickException(f"no document with id '{document_id}' (or an empty title)")
    click.echo(f"title: {doc.title} ({doc.id[:12]})")


@cli.command()
def reindex() -> None:
    """Re-chunk and re-embed everything with the current embedding model."""
    n = _kb(check_model=False).reindex(progress=True)
    click.echo(f"reindexed {n} documents")


@cli.command()
@click.option("--repair", is_flag=True, help="Rebuild FAISS and BM25 from SQLite, delete stale "
              "and orphan files (while nothing else writes to the store).")
@click.option("--json", "as_json", is_flag=True)
def doctor(repair, as_json) -> None:  # fmt: skip
    """Check the store: SQLite, vectors, FAISS and BM25 caches, stored files. Exit 1 if not ok."""
    from kb.doctor import check as check_store
    from kb.settings import Settings

    report = check_store(Settings.from_env().home, repair=repair)
    if as_json:
        _json(report.to_dict())
    else:
        for f in report.findings:
            click.echo(f.line())
        state = "ok" if report.ok else "NOT ok" + ("" if repair else " (try --repair)")
        click.echo(f"{report.home}: {report.documents} documents, {report.chunks} chunks, "
                   f"generation {report.generation}: {state}")  # fmt: skip
    sys.exit(0 if report.ok else 1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7860, show_default=True, type=int)
def serve(host, port) -> None:
    """Start the web app."""
    from ui.app import serve as run

    run(_kb(), host=host, port=port)


@cli.command()
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--municipality", help="Whose strategy it is (name or id); by default from the PDF.")
@click.option("--add", is_flag=True, help="Also add the document to the knowledge base.")
@click.option("--password", help="Password for an encrypted PDF.")
@click.option("--json", "as_json", is_flag=True)
def check(pdf, municipality, add, password, as_json) -> None:
    """Check a draft strategy against the guide's building blocks: coverage, gaps, examples."""
    from kb import check as strategy_check

    try:
        kb = _kb()
        result = strategy_check.check(kb, pdf, municipality=municipality, add=add,
                                      password=password, viewer=_viewer(kb))  # fmt: skip
    except strategy_check.CheckError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        _json(result.to_dict())
        return
    from ui.reports import check_report

    for line in check_report(result):
        click.echo(line)


@cli.command(name="map")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write (standalone, works offline).")
@click.option("--theme", help="Only projects with this theme.")
@click.option("--stage", type=click.Choice(STAGES), help="Only projects at this value-chain stage.")
@click.option("--status", type=click.Choice(STATUSES), help="Only projects with this status.")
def project_map(out, theme, stage, status) -> None:  # fmt: skip
    """The project map as a standalone HTML page: municipalities, their projects and themes."""
    from kb import regional
    from ui.figures import map_figure, write_html

    kb = _kb(check_model=False)
    pm = regional.project_map(kb, theme=theme, stage=stage, status=status, viewer=_viewer(kb))
    write_html(map_figure(pm), out)
    placed = sum(1 for m in pm.markers if m.count)
    click.echo(f"wrote {out}: {pm.projects} projects in {placed} municipalities")
    if pm.unplaced:
        click.echo(f"{len(pm.unplaced)} projects have no coordinates (ingest a folder with "
                   "municipalities.yaml)", err=True)  # fmt: skip


@cli.command()
@click.option("--threshold", type=float, help="Similarity from which two projects are comparable "
              "(default: the calibrated one, see the README).")
@click.option("--top", default=10, show_default=True, help="Number of opportunities to list.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the collaboration map as a standalone HTML page.")
@click.option("--json", "as_json", is_flag=True)
def collaborations(threshold, top, out, as_json) -> None:  # fmt: skip
    """Where municipalities work on comparable projects: ranked collaboration opportunities."""
    from kb import regional
    from ui.figures import collaboration_figure, write_html

    if threshold is None:
        threshold = regional.DEFAULT_THRESHOLD
    kb = _kb(check_model=False)
    c = regional.collaborations(kb, threshold, viewer=_viewer(kb))
    if out:
        write_html(collaboration_figure(c), out)
    if as_json:
        _json(c.to_dict(top=top))
        return
    click.echo(f"{len(c.opportunities)} opportunities, {c.pairs} comparable project pairs "
               f"(similarity >= {c.threshold:.2f}, at least one shared building block)")
    for i, o in enumerate(c.opportunities[:top], start=1):
        known = "  (already partners on some)" if any(p.already_partners for p in o.pairs) else ""
        click.echo(f"{i:>3}. [{o.weight} pair{'s' if o.weight > 1 else ''}, best {o.best:.2f}] "
                   f"{o.sentence}{known}")  # fmt: skip


@cli.command(name="eval")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Evaluation questions (corpus/eval/questions.yaml), run on the KB_HOME store.")
@click.option("--beir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A BEIR folder, loaded into a throw-away store.")
@click.option("--conversations", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Two-turn conversations (corpus/eval/conversations.yaml): the second turn's "
                   "hit rate at 5 alone, with the first as history, and as rewritten.")
@click.option("--split", type=click.Choice(["dev", "test"]),
              help="Conversations: only this half.")
@click.option("--mode", type=click.Choice(["dense", "bm25", "hybrid", "all"]), default="hybrid",
              show_default=True, help="Retrieval mode; `all` runs the three.")
@click.option("--limit", type=int, help="Only the first N questions or queries (quick runs).")
@click.option("--sweep", is_flag=True, help="Also sweep the no-answer thresholds (questions).")
@click.option("--store", "workdir", type=click.Path(file_okay=False, path_type=Path),
              help="BEIR: build the throw-away store here and reuse it on the next run.")
@click.option("--json", "as_json", is_flag=True)
def evaluate(questions, beir, conversations, split, mode, limit, sweep, workdir,
             as_json) -> None:  # fmt: skip
    """Retrieval quality: recall@1/5/10, MRR@10, nDCG@10 and the "no answer" decision."""
    if sum(map(bool, (questions, beir, conversations))) != 1:
        raise click.UsageError("give one of --questions FILE, --beir DIR, --conversations FILE")
    import kb.eval as ev
    from kb.errors import EmbedderUnavailable
    from kb.settings import Settings
    from ui.reports import eval_report

    modes = ev.MODES if mode == "all" else (mode,)
    try:
        if conversations:
            report = ev.evaluate_conversations(_kb(), ev.load_conversations(conversations),
                                               split=split)  # fmt: skip
        elif questions:
            report = ev.run_questions(questions, modes, kb=_kb(), limit=limit, sweep=sweep,
                                      progress=not as_json)  # fmt: skip
        else:
            report = ev.run_beir(beir, modes, Settings.from_env(), workdir=workdir,
                                 limit=limit, progress=not as_json)  # fmt: skip
    except (ValueError, KeyError, OSError, EmbedderUnavailable) as e:  # an empty store, a
        raise click.ClickException(str(e)) from e  # malformed set, a model not installed
    if as_json:
        _json(report)
    else:
        eval_report(report, click.echo)


@cli.command()
@click.argument("document_id")
@click.argument("visibility", type=click.Choice(["regional", "municipality"]))
def visibility(document_id, visibility) -> None:
    """Share a document with the region or keep it for its municipality (its editors, admins)."""
    from kb.access import AccessDenied

    kb = _kb(check_model=False)
    try:
        doc = kb.set_visibility(document_id, visibility, viewer=_viewer(kb))
    except (AccessDenied, ValueError) as e:
        raise _denied(e) from e
    if doc is None:
        raise click.ClickException(f"no document with id '{document_id}'")
    click.echo(f"{doc.title} ({doc.id[:12]}): {doc.visibility} -> {visibility}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def audit(as_json) -> None:
    """Who added, replaced, removed or re-scoped which document when."""
    kb = _kb(check_model=False)
    entries = kb.audit(_viewer(kb))
    if as_json:
        _json({"entries": entries})
        return
    for e in entries:
        extra = f" ({e['detail']})" if e["detail"] else ""
        click.echo(f"{e['at']}  {e['actor']:<16} {e['action']:<10} {e['document_id'][:12]}  "
                   f"{e['title'] or ''}{extra}")  # fmt: skip
    if not entries:
        click.echo("The audit log is empty.")


@cli.group()
def users() -> None:
    """Accounts of the web app: who belongs to which municipality, in which role."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _admin_only(kb) -> None:
    """Managing accounts is for the terminal's user and for region admins."""
    if not _viewer(kb).sees_all:
        raise click.ClickException("only a region admin manages accounts")


@users.command(name="add")
@click.argument("name")
@click.option("--municipality", required=True,
              help="The user's municipality (name or id), or `regional` for the region.")
@click.option("--role", type=click.Choice(["reader", "editor", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(name, municipality, role, password_stdin) -> None:  # fmt: skip
    """Add a user (or change an existing one: role, municipality and password)."""
    kb = _kb(check_model=False)
    _admin_only(kb)
    try:
        kb.accounts.add(name, municipality, role, _password(password_stdin))
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    user = kb.accounts.viewer(name)
    click.echo(f"user {name}: {user.role} of {user.municipality}")


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json) -> None:
    """The users, their municipality and role (never a password or its hash)."""
    kb = _kb(check_model=False)
    _admin_only(kb)
    rows = kb.accounts.users()
    if as_json:
        _json({"users": rows})
        return
    for u in rows:
        click.echo(f"{u['name']:<24} {u['role']:<7} {u['municipality']:<24} "
                   f"since {u['created'][:10]}")  # fmt: skip
    if not rows:
        click.echo("No users: the app is open to one local user (or KB_AUTH).")


@users.command(name="remove")
@click.argument("name")
def users_remove(name) -> None:
    """Remove a user (their sessions end)."""
    kb = _kb(check_model=False)
    _admin_only(kb)
    if not kb.accounts.remove(name):
        raise click.ClickException(f"no user '{name}'")
    click.echo(f"removed user {name}")


@users.command(name="passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_passwd(name, password_stdin) -> None:
    """Set a user's password (their sessions end)."""
    kb = _kb(check_model=False)
    _admin_only(kb)
    try:
        kb.accounts.passwd(name, _password(password_stdin))
    except (KeyError, ValueError) as e:
        raise click.ClickException(str(e.args[0])) from e
    click.echo(f"password of {name} changed")


def main() -> None:
    cli()

