"""Retrieval quality (`kb eval`): ranking metrics, the corpus questions and BEIR sets."""

from kb.eval.beir import (
    BeirSet,
    beir_document,
    build_beir_store,
    evaluate_beir,
    load_beir,
    run_beir,
)
from kb.eval.conversations import (
    Conversation,
    evaluate_conversations,
    load_conversations,
)
from kb.eval.metrics import (
    K_VALUES,
    METRICS,
    MODES,
    Ranking,
    dcg,
    mean_metrics,
    mrr_at_k,
    ndcg_at_k,
    no_answer_scores,
    recall_at_k,
)
from kb.eval.questions import (
    Question,
    evaluate_questions,
    load_questions,
    matches,
    run_questions,
    sweep_thresholds,
)

__all__ = [
    "K_VALUES",
    "METRICS",
    "MODES",
    "BeirSet",
    "Conversation",
    "Question",
    "Ranking",
    "beir_document",
    "build_beir_store",
    "dcg",
    "evaluate_beir",
    "evaluate_conversations",
    "evaluate_questions",
    "load_beir",
    "load_conversations",
    "load_questions",
    "matches",
    "mean_metrics",
    "mrr_at_k",
    "ndcg_at_k",
    "no_answer_scores",
    "recall_at_k",
    "run_beir",
    "run_questions",
    "sweep_thresholds",
]
