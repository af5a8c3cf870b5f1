"""Warm latency of `ask` and of bare retrieval on the store in KB_HOME (p50, p95).

Usage: KB_HOME=/tmp/kbcorp .venv/bin/python bench/ask_latency.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time

from kb.core import KnowledgeBase

QUESTIONS = [
    "Welke gemeenten werken met parkeersensoren?",
    "How do municipalities keep algorithms transparent?",
    "Hoe kunnen we ouderen digitaal vaardiger maken?",
    "What does the guide say about data management?",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(round(p * len(values))) - 1)]


def main(n: int = 40) -> None:
    kb = KnowledgeBase()
    kb.ask(QUESTIONS[0])  # load the model, warm the caches
    ask_ms, retrieve_ms = [], []
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        kb.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        kb.retrieve(q, k=10)
        retrieve_ms.append((time.perf_counter() - t) * 1000)
    for name, v in (("ask", ask_ms), ("retrieve", retrieve_ms)):
        print(f"{name}: p50 {statistics.median(v):.1f} ms, p95 {pct(v, 0.95):.1f} ms ({n} calls)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
