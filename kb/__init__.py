"""Knowledge base for municipal digital strategy: the core that the CLI and the app call."""

from kb.core import KnowledgeBase

__all__ = ["KnowledgeBase"]
