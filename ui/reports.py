"""Text reports for the terminal: the strategy check and `kb eval`."""

from __future__ import annotations

from collections.abc import Callable

from kb.answer import snippet
from kb.check import CheckResult
from kb.eval import METRICS


def check_report(result: CheckResult, perspectives: int = 3) -> list[str]:
    """The check as readable text lines (the CLI's output)."""
    who = f" — {result.municipality}" if result.municipality else ""
    lines = [
        f"Strategy check: {result.title} ({result.source}, {result.pages or '?'} pages, "
        f"{result.chunks} chunks){who}",
        "",
        "Coverage by stage:",
    ]
    for s in result.stages:
        lines.append(
            f"  {s.stage:<14} {s.covered:>2} covered {s.weak:>2} weak {s.missing:>2} missing"
            f"  ({s.share:.0%})"
        )
    lines += ["", "Building blocks:"]
    for b in result.blocks:
        pages = sorted({e.page for e in b.evidence if e.page})
        where = f"  p. {', '.join(map(str, pages))}" if pages and b.status != "missing" else ""
        lines.append(f"  {b.status:<8} {b.name} ({b.stage}){where}")
    if result.gaps:
        lines += ["", "Gaps, with the guide's action perspectives and projects in the region:"]
    for g in result.gaps:
        lines.append(f"  {g.name} ({g.stage}) — {g.status}")
        if g.perspectives:
            lines.append(f"    guide, {g.perspectives_source}:")
            lines += [
                f"      - {snippet(p.replace('**', ''), 160)}"
                for p in g.perspectives[:perspectives]
            ]
        if g.projects:
            lines.append(
                "    projects: "
                + "; ".join(f"{p.title} ({p.municipality}) [{p.id}]" for p in g.projects)
            )
    if result.added:
        lines += ["", f"{result.added}: {result.source}"]
    return lines


def eval_report(report: dict, echo: Callable[[str], None]) -> None:
    """The human-readable tables of a run_questions / run_beir / conversations report."""
    if report.get("set") == "conversations":
        echo(f"conversations ({report['split']}): hit rate at 5")
        echo(f"  {'group':<12}{'n':>5}{'first':>9}{'alone':>9}{'history':>9}{'rewrite':>9}")
        for group, g in report["groups"].items():
            echo(f"  {group:<12}{g['n']:>5}{g['first']:>9.3f}{g['alone']:>9.3f}"
                 f"{g['history']:>9.3f}{g['reference']:>9.3f}")  # fmt: skip
        for m in report["misses"]:
            echo(f"    missed with history: {m['id']} ({m['language']}) searched: {m['resolved']}")
        return
    head = (f"{report['set']}: {report.get('documents', '?')} documents, "
            f"{report.get('chunks', '?')} chunks")  # fmt: skip
    if "questions" in report:
        head += f", {report['questions']} questions ({report['answerable']} answerable)"
    echo(head)
    cols = ("n",) + METRICS
    for mode, res in report["modes"].items():
        echo(f"\nmode {mode} ({res['seconds']} s)")
        echo(f"  {'group':<20}" + "".join(f"{c:>10}" for c in cols))
        for group, m in res["groups"].items():
            echo(f"  {group:<20}" + f"{m['n']:>10}" + "".join(f"{m[c]:>10.3f}" for c in METRICS))
        if "no_answer" in res:
            na = res["no_answer"]
            fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            echo(f"  no answer: precision {fmt(na['precision'])}, recall {fmt(na['recall'])} "
                 f"({na['true_no_answer']} right, {na['false_no_answer']} answerable refused, "
                 f"{na['missed_no_answer']} unanswerable answered)")  # fmt: skip
            for e in res["no_answer_errors"]:
                what = "answered" if e["answered"] else "refused"
                echo(f"    {what}: {e['id']} ({e['kind']}) {e['question'][:80]}")
        if res.get("misses"):
            echo("  not in the top 5:")
            for m in res["misses"]:
                rank = m["rank"] or "-"
                echo(f"    {m['id']} ({m['language']}, {m['kind']}, rank {rank}) "
                     f"{m['question'][:70]}  | top: {m['top'][:60]}")  # fmt: skip
        if "sweep" in res:
            s = res["sweep"]
            b = s["best"]
            echo(f"  threshold sweep: current min_score {s['current']['min_score']}, min_coverage "
                 f"{s['current']['min_coverage']}; best by F1: min_score {b['min_score']}, "
                 f"min_coverage {b['min_coverage']} -> precision {b['precision']}, recall "
                 f"{b['recall']}, answerable refused {b['answerable_refused']}")  # fmt: skip
