"""Sources to chunks: PDF (with OCR and tables), Word, PowerPoint, OpenDocument, plain text,
RTF, web pages, Markdown and the project catalogue (YAML/CSV), then chunking.

Knows nothing of the index, of `kb` or of the UI.
"""

from ingest.errors import IngestError
from ingest.records import Chunk, Document, Segment

__all__ = ["Chunk", "Document", "IngestError", "Segment"]
