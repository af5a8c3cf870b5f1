"""The `kb` command: parses input, calls KnowledgeBase, formats output. No logic of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


KINDS = click.Choice(["guide", "strategy", "project", "other"])


def _kb(check_model: bool = True):
    # Imported here so that `kb --help` stays instant (no numpy, faiss or torch).
    from index.store import StoreError
    from kb.core import KnowledgeBase

    try:
        return KnowledgeBase(check_model=check_model)
    except StoreError as e:
        raise click.ClickException(str(e)) from e


def _json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=lambda o: o.__dict__))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Knowledge base for the digital strategies of the Rotterdam–The Hague region.

    Data lives in KB_HOME (default .kb). See the README for every setting.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--municipality", help="Municipality the documents belong to (name or id).")
@click.option("--kind", type=KINDS, help="Kind of document; by default from the folder name.")
@click.option("--password", help="Password for encrypted PDFs.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary and the failures.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every result.")
def ingest(paths, municipality, kind, password, quiet, as_json) -> None:
    """Add PDFs, Markdown files, project YAML/CSV files or whole folders."""
    kb = _kb()

    def show(r) -> None:
        if as_json or (quiet and r.status != "failed"):
            return
        from tqdm import tqdm

        # tqdm.write keeps the lines clear of the progress bar.
        tqdm.write(r.line(), file=sys.stderr if r.status == "failed" else sys.stdout)

    results = kb.ingest(
        paths, kind=kind, municipality=municipality, password=password, on_result=show,
        progress=not as_json,
    )  # fmt: skip
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    if as_json:
        _json({"results": [r.__dict__ for r in results], "counts": counts})
    else:
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        stats = kb.stats()
        click.echo(f"{summary}; store: {stats['documents']} documents, {stats['chunks']} chunks")
    sys.exit(1 if counts.get("failed") else 0)


@cli.command()
@click.argument("question")
@click.option("--municipality", help="Only sources of this municipality.")
@click.option("--kind", type=KINDS, help="Only sources of this kind.")
@click.option("--building-block", help="Only sources tagged with this building-block id.")
@click.option("-k", "k", default=5, show_default=True, help="Number of sources.")
@click.option("--json", "as_json", is_flag=True)
def ask(question, municipality, kind, building_block, k, as_json) -> None:
    """Answer a question with citations to document and page or section."""
    answer = _kb().ask(question, municipality=municipality, kind=kind, k=k,
                       building_block=building_block)  # fmt: skip
    if as_json:
        _json(answer.to_dict())
        return
    click.echo(answer.answer)
    if not answer.answered and answer.nearest_topics:
        click.echo("Nearest topics: " + "; ".join(answer.nearest_topics))
    if answer.sources:
        click.echo("\nSources:")
        for s in answer.sources:
            where = f", {s.where}" if s.where else ""
            click.echo(f"  [{s.n}] {s.title}{where} ({s.source}) score {s.score:.2f}")
            click.echo(f"      {s.snippet}")
    if answer.building_blocks:
        click.echo("\nBuilding blocks: " + ", ".join(f"{b.name} ({b.stage})" for b in answer.building_blocks))
    if answer.projects:
        click.echo("Comparable projects: " + "; ".join(
            f"{p.title} ({p.municipality})" for p in answer.projects))  # fmt: skip


@cli.command()
@click.argument("text", required=False)
@click.option("--project", "project_id", help="Find projects comparable to this project id.")
@click.option("--exclude-municipality", help="Leave out this municipality's projects.")
@click.option("-k", "k", default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def similar(text, project_id, exclude_municipality, k, as_json) -> None:
    """Comparable projects in other municipalities, by free text or by project."""
    if bool(text) == bool(project_id):
        raise click.UsageError("give either TEXT or --project ID")
    kb = _kb()
    try:
        results = kb.similar(text=text, project_id=project_id,
                             exclude_municipality=exclude_municipality, k=k)  # fmt: skip
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
    s = kb.stats()
    if as_json:
        _json(s)
        return
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(s["by_kind"].items()))
    click.echo(f"{s['documents']} documents ({kinds}), {s['chunks']} chunks, {s['projects']} projects")
    click.echo(f"model {s['model']} ({s['dimension']} dimensions), index {s['index']}, in {s['home']}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_documents(as_json) -> None:
    """The documents in the knowledge base, with their ids."""
    kb = _kb(check_model=False)
    docs = kb.store.documents()
    if as_json:
        _json({"documents": [{k: v for k, v in d.__dict__.items() if k != "meta"} for d in docs]})
        return
    for d in docs:
        click.echo(f"{d.id[:12]}  {d.kind:<8} {d.municipality or '-':<24} {d.title[:70]}")


@cli.command()
@click.argument("document_id")
def remove(document_id) -> None:
    """Remove a document (its id, or a unique prefix of 8+ characters, from `kb list`)."""
    doc = _kb().remove(document_id)
    if doc is None:
        raise click.ClickException(f"no document with id '{document_id}'")
    click.echo(f"removed: {doc.title} ({doc.id[:12]})")


@cli.command()
def reindex() -> None:
    """Re-chunk and re-embed everything with the current embedding model."""
    n = _kb(check_model=False).reindex(progress=True)
    click.echo(f"reindexed {n} documents")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7860, show_default=True, type=int)
def serve(host, port) -> None:
    """Start the web app."""
    from ui.app import serve as run

    run(_kb(), host=host, port=port)


def main() -> None:
    cli()

