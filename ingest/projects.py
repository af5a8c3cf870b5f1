"""The project catalogue: one YAML file per project, a YAML list, or a CSV with the same columns."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import IngestError
from ingest.plain import decode_text
from ingest.records import Document, Segment, sha256_hex
from ingest.sheets import csv_delimiter

STAGES = ("ambition", "organisation", "foundations", "applications", "public-value")
STATUSES = ("idea", "pilot", "implementation", "scaled", "stopped")
LIST_FIELDS = ("partners", "themes", "building_blocks")
COLUMNS = (
    "id", "title", "municipality", "partners", "themes", "building_blocks", "stage", "status",
    "start_year", "end_year", "budget_eur", "contact", "summary", "description", "lessons",
    "language",
)  # fmt: skip
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Project(BaseModel):
    """One project record (fields of DOMAIN.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str
    title: str = Field(min_length=3)
    municipality: str
    partners: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    building_blocks: tuple[str, ...] = ()
    stage: Literal[STAGES]  # type: ignore[valid-type]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    start_year: int = Field(ge=1990, le=2100)
    end_year: int | None = Field(default=None, ge=1990, le=2100)
    budget_eur: int | None = Field(default=None, ge=0)
    contact: str = ""
    summary: str = Field(min_length=10)
    description: str = Field(min_length=40)
    lessons: str | None = None
    language: Literal["nl", "en"]

    @field_validator("id", "municipality")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("must be a lower-case slug like 'delft-smart-parking'")
        return v

    @field_validator("partners", "themes", "building_blocks", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if v is None:
            return ()
        if isinstance(v, str):  # CSV cells hold lists separated by ';'
            return tuple(p.strip() for p in v.split(";") if p.strip())
        return v

    @field_validator("end_year", "budget_eur", "lessons", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v == "" else v

    def canonical(self) -> str:
        return json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False)

    def text(self) -> str:
        """The text that is chunked and embedded for this project."""
        parts = [self.title + ".", self.summary, self.description]
        if self.lessons:
            parts.append(self.lessons)
        return "\n\n".join(parts)

    def to_document(self, source: str) -> Document:
        return Document(
            id=sha256_hex(self.canonical().encode()),
            key=f"project:{self.id}",
            source=source,
            title=self.title,
            kind="project",
            segments=(Segment(text=self.text(), section=self.title),),
            municipality=self.municipality,
            language=self.language,
            project_id=self.id,
            building_blocks=self.building_blocks,
            meta={"project": self.model_dump(mode="json")},
        )


@dataclass(frozen=True)
class RecordError:
    """An invalid record: where it is in its file ('row 5', 'record 2', or '' for the
    whole file) and why."""

    where: str
    reason: str


def _reason(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"]) or "record"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _validate(raw: object, where: str) -> Project | RecordError:
    if not isinstance(raw, dict):
        return RecordError(where, "not a mapping of fields")
    try:
        return Project.model_validate(raw)
    except ValidationError as e:
        return RecordError(where, _reason(e))


def load_yaml(path: Path) -> list[Project | RecordError]:
    """A YAML file holding one record, or a list of records."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise IngestError(f"invalid YAML ({str(e).splitlines()[0]})") from e
    if isinstance(data, list):
        return [_validate(r, f"record {i}") for i, r in enumerate(data, start=1)]
    return [_validate(data, "")]


def load_csv(path: Path) -> list[Project | RecordError]:
    """A CSV with the columns of COLUMNS (list fields separated by ';'), its cells separated
    by ',' (or by ';' or a tab, as a spreadsheet program may save it), in UTF-8 or cp1252."""
    # Decoded as .txt files are (ingest.plain): Excel saves CSV in cp1252 or UTF-16 too.
    text = decode_text(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text), delimiter=csv_delimiter(text)))
    return records_from_rows(rows, "CSV")


def records_from_rows(rows: list[list[str]], what: str,
                      where: str = "") -> list[Project | RecordError]:  # fmt: skip
    """Project records from a table whose first row is the header (a CSV, or a sheet of a
    spreadsheet: `what` names it in the errors, `where` prefixes each row's place)."""
    header = [str(h).strip() for h in rows[0]] if rows else []
    if "id" not in header:
        raise IngestError(f"{what} has no header with an 'id' column")
    unknown = sorted({h for h in header if h} - set(COLUMNS))
    if unknown:
        raise IngestError(f"{what} has unknown columns: {', '.join(unknown)}")
    out: list[Project | RecordError] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [str(c) for c in row]
        if not any(c.strip() for c in cells):
            continue  # an empty row between records
        place = f"{where}row {line}"
        extra = [c for c in cells[len(header):] if c.strip()]
        if extra:  # more cells than columns: a stray comma shifts the values
            out.append(RecordError(place, f"{len(extra)} more cells than the header has"))
            continue
        values = {h: c for h, c in zip(header, cells, strict=False) if h and c.strip()}
        out.append(_validate(values, place))
    return out


def is_project_header(header: list[str]) -> bool:
    """A CSV header is a project list's when it has the 'id' column and two more of COLUMNS.

    A CSV of other columns (a budget, a KPI table) is read as a table instead; one that
    has 'id' and project columns is checked as a project list, row by row.
    """
    names = {h.strip() for h in header}
    return "id" in names and len(names & set(COLUMNS)) >= 3


def looks_like_project(path: Path) -> bool:
    """A YAML file is a project record when it has the record's key fields."""
    try:
        head = path.read_text(encoding="utf-8")[:4000]
    except (OSError, UnicodeDecodeError):
        return False
    keys = {m.group(1) for m in re.finditer(r"^-?\s*([a-z_]+):", head, re.MULTILINE)}
    return {"id", "title", "municipality", "status"} <= keys


def to_csv(projects: list[Project]) -> str:
    """The catalogue as CSV, as a region would export it from a spreadsheet."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in projects:
        row = p.model_dump()
        for f in LIST_FIELDS:
            row[f] = ";".join(row[f])
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
    return buf.getvalue()
