"""Two-turn conversations (`corpus/eval/conversations.yaml`): is the second turn, a
follow-up that leans on the first, answered from the right place?

Each turn is asked as `kb ask` (and the app) asks it: the sources the answer cites are the
ranking, and a turn scores a hit at k when one of its first k sources matches an expected
entry. The second turn is scored three ways: on its own as typed (what a tool without a
conversation does), with the first turn as history (follow-up resolution), and, as a
ceiling, the reference rewrite a reader would make (`resolved` in the file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.answer import Source
from kb.eval.questions import same_file

K = 5


@dataclass(frozen=True)
class Conversation:
    id: str
    language: str
    split: str
    cross_lingual: bool
    turns: tuple[Mapping, ...]


def load_conversations(path: Path) -> list[Conversation]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return [
        Conversation(id=str(c["id"]), language=str(c.get("language", "")),
                     split=str(c.get("split", "")), cross_lingual=bool(c.get("cross_lingual")),
                     turns=tuple(c["turns"]))  # fmt: skip
        for c in data.get("conversations", [])
    ]


def source_matches(expected: Mapping, s: Source) -> bool:
    """Does a cited source hold an expected entry (as `kb.eval.matches` for a chunk)?"""
    if "project" in expected:
        return s.project_id == str(expected["project"])
    if "source" not in expected or not same_file(s.source, str(expected["source"])):
        return False
    if "page" in expected:
        return s.page == int(expected["page"])
    if "section" in expected:
        return str(expected["section"]).lower() in (s.section or "").lower()
    return True


def _hit(sources: Sequence[Source], expected: Sequence[Mapping], k: int = K) -> bool:
    return any(source_matches(e, s) for s in sources[:k] for e in expected)


def evaluate_conversations(kb, conversations: Sequence[Conversation],
                           split: str | None = None) -> dict:  # fmt: skip
    """Hit rate at 5 of the first turns, and of the second turns typed alone, with history,
    and as the reference rewrite; per language and in all."""
    rows = []
    for c in conversations:
        if split and c.split != split:
            continue
        first, second = c.turns[0], c.turns[1]
        a1 = kb.ask(first["question"], k=K)
        alone = kb.ask(second["question"], k=K)
        followed = kb.ask(second["question"], k=K, history=[a1.turn])
        rewritten = kb.ask(second.get("resolved") or second["question"], k=K)
        rows.append({
            "id": c.id, "language": c.language,
            "first": _hit(a1.sources, first["expected"]),
            "alone": _hit(alone.sources, second["expected"]),
            "history": _hit(followed.sources, second["expected"]),
            "reference": _hit(rewritten.sources, second["expected"]),
            "resolved": followed.resolved_question,
        })  # fmt: skip

    def rates(sel: list[dict]) -> dict:
        n = len(sel)
        out: dict = {"n": n}
        for key in ("first", "alone", "history", "reference"):
            out[key] = round(sum(r[key] for r in sel) / n, 4) if n else 0.0
        return out

    groups = {"all": rates(rows)}
    for lang in sorted({r["language"] for r in rows}):
        groups[f"lang:{lang}"] = rates([r for r in rows if r["language"] == lang])
    misses = [r for r in rows if not r["history"]]
    return {"set": "conversations", "split": split or "all", "groups": groups,
            "misses": misses}  # fmt: skip
