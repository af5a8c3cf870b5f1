"""What the store knows about the region: municipalities, the guide's building blocks and
the project records."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from index.store import Store
from ingest.projects import STAGES, STATUSES
from kb.access import Viewer
from kb.cache import Derived

__all__ = ["Catalogue", "STAGES", "STATUSES"]


class Catalogue:
    """Look-ups over the store, cached until the store changes."""

    def __init__(self, store: Store, cache: Derived):
        self.store = store
        self.cache = cache

    # ---- municipalities -------------------------------------------------------------------
    def register_municipalities(self, path: Path) -> None:
        """Keep the names and places of a `municipalities.yaml` in the store's manifest."""
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = list(data.get("municipalities", []))
        if data.get("regional"):
            entries.append(data["regional"])
        self.store.set_manifest_json("municipalities", entries)

    def municipalities(self) -> list[dict]:
        raw = self.store.manifest_value("municipalities")
        return self.cache.get("municipalities", raw, lambda: json.loads(raw) if raw else [])

    def municipality_name(self, mid: str | None) -> str:
        if not mid:
            return ""
        names = {m.get("id"): str(m.get("name", mid)) for m in self.municipalities()}
        return names.get(mid) or mid.replace("-", " ").title()

    # ---- the guide ------------------------------------------------------------------------
    def building_blocks(self) -> dict[str, dict]:
        """The guide's building blocks by id (from every ingested guide document)."""

        def build() -> dict[str, dict]:
            out: dict[str, dict] = {}
            for d in self.store.documents(kind="guide"):
                for b in d.meta.get("blocks", []):
                    out[b["id"]] = b
            return out

        return self.cache.get("blocks", self.store.generation, build)

    # ---- projects -------------------------------------------------------------------------
    def project(self, project_id: str, viewer: Viewer | None = None) -> dict | None:
        """A project record; None also when the viewer may not see it."""
        doc = self.store.document_by_key(f"project:{project_id}",
                                         Viewer.resolve(viewer).filters())  # fmt: skip
        return doc.meta.get("project") if doc else None

    def projects(self, viewer: Viewer | None = None) -> list[dict]:
        """The project records the viewer may see (None: all)."""
        return [
            d.meta["project"]
            for d in self.store.documents(kind="project", filters=Viewer.resolve(viewer).filters())
            if "project" in d.meta
        ]

    def project_titles(self, viewer: Viewer | None = None) -> dict[str, str]:
        """{project id: title} of the projects the viewer may see, cached until the store
        changes."""
        v = Viewer.resolve(viewer)
        scope = "all" if v.sees_all else f"municipality:{v.municipality or ''}"
        return self.cache.get(f"project_titles:{scope}", self.store.generation,
                              lambda: {p["id"]: p["title"] for p in self.projects(v)})  # fmt: skip
