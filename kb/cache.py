"""Values derived from the store, rebuilt only when the store has changed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Derived:
    """A small cache of values keyed by name, each valid for one version of its input (the
    store's generation, a manifest value). Shared by the services of one KnowledgeBase."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[object, object]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, version: object, build: Callable[[], T]) -> T:
        with self._lock:
            hit = self._values.get(name)
        if hit is None or hit[0] != version:
            hit = (version, build())
            with self._lock:
                self._values[name] = hit
        return hit[1]  # type: ignore[return-value]
