"""An optional language model behind any OpenAI-compatible chat endpoint (Ollama, llama.cpp's
server, vLLM, LM Studio, Azure OpenAI), through the official `openai` client.

It writes the answer only from numbered passages, citing [n]; its output is checked before it
is shown (`check`): a sentence that cites nothing, cites a passage that does not exist, or
shares no content word with the passages it cites is dropped. Every failure (not configured,
timeout, HTTP error, unreachable, malformed or unsupported output) is one `LlmError` with a
one-line reason, so the caller shows the extractive answer and that line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from index.glossary import glossary
from index.store import DocumentRow, Hit
from kb.text import terms

# The share of a sentence's content words that the passages it cites must hold.
MIN_SUPPORT = 0.2
PASSAGE_CHARS = 1500
_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_CITE_AFTER_END = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_SPLIT = re.compile(r"(\n+|(?<=[.!?])\s+(?!\[))")
_BOUNDARY = re.compile(r"\n+|(?<=[.!?])(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*\s+(?!\[)")


class LlmError(Exception):
    """The language model gave no usable answer; `reason` is one line for the user."""

    def __init__(self, kind: str, reason: str, checked: Checked | None = None,
                 reason_nl: str | None = None):  # fmt: skip
        super().__init__(reason)
        self.kind = kind  # not-configured | timeout | http | connection | malformed | unsupported
        self.reason = reason
        self.reason_nl = reason_nl or reason
        self.checked = checked

    def line(self, lang: str | None) -> str:
        """The one line shown above the extractive answer, in the answer's language."""
        if lang == "nl":
            return f"Antwoord zonder taalmodel: {self.reason_nl}."
        return f"Answered without the language model: {self.reason}."


@dataclass(frozen=True)
class LlmConfig:
    """Where the model is: `url` is the API base (e.g. http://localhost:11434/v1)."""

    url: str
    model: str
    api_key: str = ""
    timeout: float = 30.0

    @classmethod
    def from_values(
        cls, url: str, model: str, api_key: str = "", timeout: str | float = 30.0
    ) -> LlmConfig | None:
        """A config from the settings' string values; None when no URL is set."""
        if not url.strip():
            return None
        return cls(url.strip(), model.strip() or "llama3.2", api_key, float(timeout or 30.0))


@dataclass(frozen=True)
class Passage:
    n: int
    title: str
    where: str  # "p. 4" or a section path
    text: str


def passages_from(hits: list[Hit], docs: dict[str, DocumentRow]) -> list[Passage]:
    """The hits as numbered passages, 1..n as `make_sources` numbers them."""
    out = []
    for n, h in enumerate(hits, start=1):
        d = docs.get(h.chunk.document_id)
        where = f"p. {h.chunk.page}" if h.chunk.page is not None else (h.chunk.section or "")
        out.append(Passage(n, d.title if d else h.chunk.document_id, where, h.chunk.text))
    return out


# ---- the prompt ---------------------------------------------------------------------------
def messages(question: str, lang: str | None, passages: list[Passage]) -> list[dict]:
    """The chat messages: the rules, the numbered passages and the question."""
    language = "Dutch" if lang == "nl" else "English"
    system = (
        "You answer questions about the digital strategies of the municipalities of the "
        "Rotterdam-The Hague metropolitan region. Use ONLY the numbered passages you are "
        f"given. Write the answer in {language}, the language of the question, in at most "
        "eight short sentences or list items. End every sentence with the number of the "
        "passage it comes from in square brackets, for example [2]. Cite only numbers that "
        "are in the list. Do not add facts that are not in the passages. If the passages do "
        "not answer the question, say so in one sentence."
    )
    blocks = []
    for p in passages:
        head = f"[{p.n}] {p.title}" + (f" ({p.where})" if p.where else "")
        blocks.append(f"{head}\n{' '.join(p.text.split())[:PASSAGE_CHARS]}")
    user = "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# ---- the check ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedSentence:
    text: str  # as the model wrote it, citations included
    cites: tuple[int, ...]
    kept: bool
    reason: str = ""  # why it was dropped


@dataclass(frozen=True)
class Checked:
    text: str  # the kept sentences, in the model's layout
    sentences: list[CheckedSentence] = field(default_factory=list)

    @property
    def kept(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.kept]

    @property
    def dropped(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if not s.kept]


def _units(text: str) -> list[tuple[str, str]]:
    """(sentence, separator after it) pairs; a citation after the full stop moves before it."""
    text = _CITE_AFTER_END.sub(lambda m: " " + m.group(2).strip() + m.group(1), text)
    parts = _SPLIT.split(text)
    out = []
    for i in range(0, len(parts), 2):
        sep = parts[i + 1] if i + 1 < len(parts) else ""
        if parts[i].strip():
            out.append((parts[i].strip(), sep))
        elif out and "\n" in sep:
            out[-1] = (out[-1][0], out[-1][1] + sep)
    return out


def _content(text: str) -> set[str]:
    """Content terms of a text, both languages' stems, plus the English glossary rendering of
    its Dutch words: the model may answer in Dutch from an English passage."""
    plain = _CITE.sub(" ", text)
    return terms(plain) | set(glossary().expansion(plain, None))


def check_sentence(sentence: str, passages: dict[int, Passage]) -> CheckedSentence:
    """Is one sentence supported by the passages it cites?"""
    cites = tuple(int(n) for group in _CITE.findall(sentence) for n in re.split(r"[,;]", group))
    body = _LIST_MARK.sub("", _CITE.sub("", sentence)).strip()
    if not cites:
        # A short label such as "Advies:" is layout, not a claim.
        if body.endswith(":") and len(body.split()) <= 4:
            return CheckedSentence(sentence, (), True)
        return CheckedSentence(sentence, (), False, "cites no passage")
    missing = [n for n in cites if n not in passages]
    if missing:
        return CheckedSentence(
            sentence, cites, False, f"cites [{missing[0]}], which is not one of the passages"
        )
    own = terms(body)
    if not own:
        return CheckedSentence(sentence, cites, False, "says nothing")
    source: set[str] = set()
    for n in cites:
        source |= _content(passages[n].text + " " + passages[n].title)
    support = _content(body) & source
    if not support or len(support) / len(own) < MIN_SUPPORT:
        return CheckedSentence(
            sentence, cites, False, f"not supported by [{']['.join(map(str, cites))}]"
        )
    return CheckedSentence(sentence, cites, True)


def check(text: str, passages: list[Passage]) -> Checked:
    """The model's answer with every unsupported sentence dropped (and the reason kept)."""
    by_n = {p.n: p for p in passages}
    out: list[str] = []
    checked = []
    for sentence, sep in _units(text):
        c = check_sentence(sentence, by_n)
        checked.append(c)
        if c.kept:
            out.append(sentence + (sep if "\n" in sep else " "))
        elif "\n" in sep and out and not out[-1].endswith("\n"):
            out[-1] = out[-1].rstrip(" ") + sep
    return Checked("".join(out).strip(), checked)


# ---- the calls ----------------------------------------------------------------------------
def _client(config: LlmConfig | None):
    if config is None:
        raise LlmError(
            "not-configured",
            "no language model configured (KB_LLM_URL is empty)",
            reason_nl="er is geen taalmodel ingesteld (KB_LLM_URL is leeg)",
        )
    from openai import OpenAI

    # No retries: a slow or broken endpoint must fall back quickly, not three times over.
    return OpenAI(
        base_url=config.url,
        api_key=config.api_key or "not-needed",
        timeout=config.timeout,
        max_retries=0,
    )


def _failure(e: Exception, config: LlmConfig) -> LlmError:
    """One line for any error the client raises."""
    import openai

    if isinstance(e, LlmError):
        return e
    if isinstance(e, openai.APITimeoutError):
        return LlmError(
            "timeout",
            f"the language model did not answer within {config.timeout:g} s",
            reason_nl=f"het taalmodel antwoordde niet binnen {config.timeout:g} s",
        )
    if isinstance(e, openai.APIStatusError):
        return LlmError(
            "http",
            f"the language model endpoint returned HTTP {e.status_code}",
            reason_nl=f"het taalmodel gaf HTTP-status {e.status_code}",
        )
    if isinstance(e, openai.APIConnectionError):
        return LlmError(
            "connection",
            f"the language model at {config.url} cannot be reached",
            reason_nl=f"het taalmodel op {config.url} is niet bereikbaar",
        )
    return LlmError(
        "malformed",
        f"the language model's reply could not be read ({type(e).__name__})",
        reason_nl=f"het antwoord van het taalmodel was onleesbaar ({type(e).__name__})",
    )


def _final(text: str, passages: list[Passage]) -> Checked:
    if not text.strip():
        raise LlmError(
            "malformed",
            "the language model returned an empty answer",
            reason_nl="het taalmodel gaf een leeg antwoord",
        )
    checked = check(text, passages)
    if not checked.kept:
        raise LlmError(
            "unsupported",
            "no sentence of the language model's answer was supported by the passages",
            checked,
            "geen zin uit het antwoord van het taalmodel werd door de bronnen gesteund",
        )
    return checked


def answer(
    config: LlmConfig | None, question: str, lang: str | None, passages: list[Passage]
) -> Checked:
    """The model's checked answer; raises `LlmError` on any failure."""
    client = _client(config)
    assert config is not None
    try:
        reply = client.chat.completions.create(
            model=config.model, temperature=0, messages=messages(question, lang, passages)
        )  # type: ignore[arg-type]
        text = reply.choices[0].message.content
    except Exception as e:  # every client error becomes one line
        raise _failure(e, config) from None
    if not isinstance(text, str):
        raise LlmError(
            "malformed",
            "the language model's reply holds no answer text",
            reason_nl="het antwoord van het taalmodel bevat geen tekst",
        )
    return _final(text, passages)


class AnswerStream:
    """The model's answer as it arrives, checked one sentence at a time.

    Iterating yields text deltas of supported sentences only (a sentence is shown when it is
    complete and passes `check_sentence`); afterwards `result` is the whole `Checked`. Any
    failure raises `LlmError` from the iteration.
    """

    def __init__(
        self, config: LlmConfig | None, question: str, lang: str | None, passages: list[Passage]
    ):
        self.config = config
        self.question, self.lang, self.passages = question, lang, passages
        self.raw = ""
        self.result: Checked | None = None

    def _deltas(self) -> Iterator[str]:
        client = _client(self.config)
        assert self.config is not None
        try:
            stream = client.chat.completions.create(
                model=self.config.model,
                temperature=0,
                stream=True,
                messages=messages(self.question, self.lang, self.passages),
            )  # type: ignore[arg-type]
            for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content
                if delta:
                    yield delta
        except Exception as e:
            raise _failure(e, self.config) from None

    def __iter__(self) -> Iterator[str]:
        by_n = {p.n: p for p in self.passages}
        pending = ""
        self._sep: str | None = None  # the separator owed before the next shown sentence
        for delta in self._deltas():
            self.raw += delta
            pending += delta
            end = _complete_prefix(pending)
            if end:
                yield from self._supported(pending[:end], by_n)
                pending = pending[end:]
        yield from self._supported(pending, by_n)
        self.result = _final(self.raw, self.passages)

    def _supported(self, text: str, by_n: dict[int, Passage]) -> Iterator[str]:
        """The kept sentences of complete text, laid out as `check` lays them out."""
        for sentence, sep in _units(text):
            if check_sentence(sentence, by_n).kept:
                yield (self._sep or "") + sentence
                self._sep = sep if "\n" in sep else " "
            elif "\n" in sep and self._sep is not None and "\n" not in self._sep:
                self._sep = sep


def _complete_prefix(text: str) -> int:
    """The length of the text's complete sentences: up to the last sentence end that a
    following character confirms (a citation may still come after a full stop)."""
    end = 0
    for m in _BOUNDARY.finditer(text):
        if m.end() < len(text):
            end = m.end()
    return end


def stream_answer(
    config: LlmConfig | None, question: str, lang: str | None, passages: list[Passage]
) -> AnswerStream:
    """The streaming counterpart of `answer` (nothing is sent before iteration starts)."""
    return AnswerStream(config, question, lang, passages)


@dataclass(frozen=True)
class Written:
    """The answer text to show and who wrote it: the model ('llm') or the composer."""

    text: str
    written_by: str  # 'llm' | 'composed'
    note: str | None = None  # one line: why the model was not used, or what was left out
    checked: Checked | None = None


def dropped_note(checked: Checked, lang: str | None) -> str | None:
    """One line saying how many of the model's sentences were left out, or None."""
    k = len(checked.dropped)
    if not k:
        return None
    if lang == "nl":
        return f"{k} zin(nen) van het taalmodel weggelaten: niet door de bronnen gesteund."
    return f"{k} sentence(s) of the language model's answer left out: not supported by the sources."


def write_answer(config: LlmConfig | None, question: str, lang: str | None,
                 passages: list[Passage], fallback: str) -> Written:  # fmt: skip
    """The model's checked answer, or `fallback` (the composed answer) with the reason in one
    line when the model fails; with no model configured, `fallback` and no attempt."""
    if config is None:
        return Written(fallback, "composed")
    try:
        checked = answer(config, question, lang, passages)
    except LlmError as e:
        return Written(fallback, "composed", e.line(lang), e.checked)
    return Written(checked.text, "llm", dropped_note(checked, lang), checked)


def rewrite_followup(config: LlmConfig | None, question: str, history: list) -> str:
    """A follow-up rewritten by the model as a question that stands on its own.

    Args:
        history: earlier `kb.followup.Turn`s, oldest first.
    """
    client = _client(config)
    assert config is not None
    turns = "\n".join(f"- {getattr(t, 'searched', None) or t.question}" for t in history[-3:])
    prompt = [
        {
            "role": "system",
            "content": (
                "Rewrite the user's follow-up question as one question that can be understood "
                "without the conversation, in the language of the follow-up. Reply with the "
                "question only."
            ),
        },
        {"role": "user", "content": f"Earlier questions:\n{turns}\n\nFollow-up: {question}"},
    ]
    try:
        reply = client.chat.completions.create(model=config.model, temperature=0, messages=prompt)  # type: ignore[arg-type]
        text = reply.choices[0].message.content
    except Exception as e:
        raise _failure(e, config) from None
    if not isinstance(text, str) or not text.strip():
        raise LlmError("malformed", "the language model returned no rewritten question")
    line = text.strip().splitlines()[0].strip().strip('"“”')
    if len(line) > 400:
        raise LlmError("malformed", "the language model's rewritten question is too long")
    return line
