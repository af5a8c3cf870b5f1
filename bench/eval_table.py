"""Render `kb eval --mode all --json` results of several stores as one Markdown table.

Usage:
  .venv/bin/python bench/eval_table.py LABEL=RESULT.json [LABEL=RESULT.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = [("all", "recall@1", "R@1"), ("all", "recall@5", "R@5"), ("all", "mrr@10", "MRR@10"),
           ("all", "ndcg@10", "nDCG@10"), ("lang:nl", "recall@5", "R@5 nl"),
           ("lang:en", "recall@5", "R@5 en"), ("cross-lingual", "recall@5", "R@5 cross-lingual"),
           ("kind:guide", "recall@5", "R@5 guide")]  # fmt: skip


def rows(label: str, result: dict) -> list[str]:
    """One table row per retrieval mode of one `kb eval --json` result."""
    out = []
    for mode, r in result["modes"].items():
        g = r["groups"]
        cells = [f"{g[k][m]:.3f}" if k in g else "–" for k, m, _ in COLUMNS]
        na = r.get("no_answer") or {}
        p = na.get("precision")
        cells.append(f"{p if p is not None else '–'} / {na.get('recall', '–')}")
        out.append(f"| {label} | {result['chunks']} | {mode} | " + " | ".join(cells) + " |")
        label = ""
    return out


def main(argv: list[str]) -> None:
    head = ["model", "chunks", "mode", *(c for _, _, c in COLUMNS), "no answer P / R"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for arg in argv:
        label, _, path = arg.partition("=")
        print("\n".join(rows(label, json.loads(Path(path).read_text()))))


if __name__ == "__main__":
    main(sys.argv[1:])
