"""Knowledge base for municipal digital strategy: the core that the CLI and the app call."""

from kb.core import KnowledgeBase
from kb.settings import SETTINGS, Settings

__all__ = ["SETTINGS", "KnowledgeBase", "Settings"]
