"""`ask` latency over a question set: p50 and p90 in milliseconds, one warm-up ask first.

    cd ROOT && KB_HOME=/tmp/retr-minilm PYTHONPATH=ROOT python bench/ask_latency.py \
        corpus/eval/dev.yaml [--limit N]

ROOT is the checkout whose code is timed (so the same script times the code before and
after a change on one store). On a shared, busy machine the figures are rough.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import yaml

from kb.core import KnowledgeBase


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("questions")
    p.add_argument("--limit", type=int)
    args = p.parse_args()
    data = yaml.safe_load(Path(args.questions).read_text(encoding="utf-8"))
    questions = [q["question"] for q in data["questions"]][: args.limit]
    kb = KnowledgeBase.from_env()
    kb.ask("warm up: wat is een digitale strategie?")
    times = []
    for q in questions:
        start = time.perf_counter()
        kb.ask(q)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(json.dumps({"model": kb.embedder.name, "questions": len(times),
                      "p50_ms": round(statistics.median(times), 1),
                      "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
