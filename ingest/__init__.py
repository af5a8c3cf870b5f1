"""Sources to chunks: PDF, Markdown and the project catalogue (YAML/CSV), then chunking.

Knows nothing of the index, of `kb` or of the UI.
"""

from ingest.errors import IngestError
from ingest.records import Chunk, Document, Segment

__all__ = ["Chunk", "Document", "IngestError", "Segment"]
