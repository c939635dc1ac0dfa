"""Typed records that flow between stages: demonstrations, ranked comparisons, pretraining text,
eval items. Every record is built from a raw row by ``from_row``, which validates it and names the
file, line and field of anything malformed; ``to_row`` gives back a plain JSON-able dict.

A prompt is either a string (one user turn) or a conversation: a list of ``{"role", "content"}``
messages with roles system / user / assistant that ends with a user turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from instructrl.errors import DataError

Message = dict[str, str]
Prompt = str | list[Message]
ROLES = ("system", "user", "assistant")

# The paper's use-case categories (Ouyang et al. 2022, Table 1), with their share of the API prompt set.
CATEGORY_SHARES = {
    "generation": 0.456,
    "open_qa": 0.124,
    "brainstorming": 0.112,
    "chat": 0.084,
    "rewrite": 0.066,
    "summarization": 0.042,
    "classification": 0.035,
    "other": 0.035,
    "closed_qa": 0.026,
    "extraction": 0.019,
}
FORMATS = ("list", "numbered_list", "json")


@dataclass(frozen=True)
class Where:
    """Where a row came from, for error messages."""

    source: str
    line: int | None = None

    def error(self, field: str | None, expected: str, fix: str | None = None) -> DataError:
        return DataError(self.source, self.line, field, expected, fix)


def _require(row: Mapping[str, Any], key: str, where: Where, kind: type = str) -> Any:
    if key not in row or row[key] is None:
        raise where.error(key, f"is missing; expected a {kind.__name__}")
    value = row[key]
    if not isinstance(value, kind):
        raise where.error(key, f"has type {type(value).__name__}; expected a {kind.__name__}")
    return value


def parse_prompt(value: Any, where: Where, field_name: str = "prompt") -> Prompt:
    """A non-empty string, or a conversation ending with a user turn."""
    if isinstance(value, str):
        if not value.strip():
            raise where.error(field_name, "is empty; expected the instruction text")
        return value
    if isinstance(value, Sequence) and value and all(isinstance(m, Mapping) for m in value):
        messages = []
        for i, m in enumerate(value):
            role, content = m.get("role"), m.get("content")
            if role not in ROLES:
                raise where.error(f"{field_name}[{i}].role", f"is {role!r}; expected one of {', '.join(ROLES)}")
            if not isinstance(content, str):
                raise where.error(f"{field_name}[{i}].content", "is not a string")
            messages.append({"role": role, "content": content})
        if messages[-1]["role"] != "user":
            raise where.error(field_name, "is a conversation that does not end with a user turn")
        return messages
    raise where.error(field_name, "expected a non-empty string or a list of {role, content} messages")


def prompt_text(prompt: Prompt) -> str:
    """The last user turn: what the prompt asks, for display and keyword checks."""
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


def stable_id(*parts: Any) -> str:
    """A short content hash, so records without an id still get a stable one."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class Constraints:
    """Machine-checkable requirements stored with a prompt, verified later by the gold labeler."""

    min_words: int | None = None
    max_words: int | None = None
    max_sentences: int | None = None
    format: str | None = None  # one of FORMATS
    num_items: int | None = None  # for list formats: exactly this many items
    must_include: tuple[str, ...] = ()  # case-insensitive substrings
    must_exclude: tuple[str, ...] = ()
    exact_answer: str | None = None  # closed tasks: the answer must state this (see data/constraints.py)

    @classmethod
    def from_row(cls, row: Any, where: Where) -> Constraints | None:
        if row is None or row == {}:
            return None
        if not isinstance(row, Mapping):
            raise where.error("constraints", "expected an object such as {\"max_words\": 50}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(row) - known
        if unknown:
            raise where.error(f"constraints.{sorted(unknown)[0]}", f"is not a known constraint; known: {', '.join(sorted(known))}")
        kwargs: dict[str, Any] = {}
        for key in ("min_words", "max_words", "max_sentences", "num_items"):
            if row.get(key) is not None:
                value = row[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise where.error(f"constraints.{key}", f"is {value!r}; expected a positive integer")
                kwargs[key] = value
        if row.get("format") is not None:
            if row["format"] not in FORMATS:
                raise where.error("constraints.format", f"is {row['format']!r}; expected one of {', '.join(FORMATS)}")
            kwargs["format"] = row["format"]
        for key in ("must_include", "must_exclude"):
            value = row.get(key) or ()
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise where.error(f"constraints.{key}", "expected a list of non-empty strings")
            kwargs[key] = tuple(value)
        if row.get("exact_answer") is not None:
            if not isinstance(row["exact_answer"], str) or not row["exact_answer"].strip():
                raise where.error("constraints.exact_answer", "expected a non-empty string")
            kwargs["exact_answer"] = row["exact_answer"]
        if kwargs.get("min_words") and kwargs.get("max_words") and kwargs["min_words"] > kwargs["max_words"]:
            raise where.error("constraints.min_words", "is larger than max_words")
        return cls(**kwargs)

    def to_row(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v not in (None, ())}


@dataclass(frozen=True)
class Demonstration:
    """A prompt and a good answer to it (SFT data)."""

    prompt: Prompt
    completion: str
    category: str = "other"
    constraints: Constraints | None = None
    id: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: Where) -> Demonstration:
        row = _demonstration_aliases(row, where)
        prompt = parse_prompt(row.get("prompt"), where)
        completion = _require(row, "completion", where)
        if not completion.strip():
            raise where.error("completion", "is empty; expected the demonstration answer")
        category = row.get("category") or "other"
        if not isinstance(category, str):
            raise where.error("category", "expected a string")
        constraints = Constraints.from_row(row.get("constraints"), where)
        rid = str(row.get("id") or stable_id(prompt, completion))
        return cls(prompt, completion, category, constraints, rid)

    def to_row(self) -> dict[str, Any]:
        row = {"id": self.id, "category": self.category, "prompt": self.prompt, "completion": self.completion}
        if self.constraints and self.constraints.to_row():
            row["constraints"] = self.constraints.to_row()
        return row


def _demonstration_aliases(row: Mapping[str, Any], where: Where) -> Mapping[str, Any]:
    """Accept the common public layouts: prompt/completion, instruction/input/output, messages."""
    if "prompt" in row and "completion" in row:
        return row
    if "instruction" in row and ("output" in row or "response" in row):
        prompt = row["instruction"] if not row.get("input") else f"{row['instruction']}\n\n{row['input']}"
        return {**row, "prompt": prompt, "completion": row.get("output", row.get("response"))}
    if "messages" in row:
        messages = row["messages"]
        if (not isinstance(messages, Sequence) or len(messages) < 2 or not all(isinstance(m, Mapping) for m in messages)
                or messages[-1].get("role") != "assistant"):
            raise where.error("messages", "expected a conversation that ends with an assistant turn")
        return {**row, "prompt": list(messages[:-1]), "completion": messages[-1].get("content")}
    if "prompt" in row and "response" in row:
        return {**row, "completion": row["response"]}
    raise where.error(
        None,
        f"has columns {sorted(row)}; expected prompt + completion (or instruction + output, or messages)",
    )


@dataclass(frozen=True)
class Comparison:
    """K answers to one prompt and their ranking (reward-model data).

    ``ranking[i]`` is the rank of ``completions[i]``: 0 is best; equal ranks are ties.
    """

    prompt: Prompt
    completions: tuple[str, ...]
    ranking: tuple[int, ...]
    source: str = ""
    labeler: str = ""
    id: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: Where) -> Comparison:
        row = _comparison_aliases(row, where)
        prompt = parse_prompt(row.get("prompt"), where)
        completions = row.get("completions")
        if not isinstance(completions, Sequence) or isinstance(completions, str):
            raise where.error("completions", "expected a list of answer strings")
        if len(completions) < 2:
            raise where.error("completions", f"has {len(completions)} answer(s); a comparison needs at least 2")
        if not all(isinstance(c, str) for c in completions):
            raise where.error("completions", "expected every answer to be a string")
        if len(set(completions)) != len(completions):
            raise where.error("completions", "has duplicate answers; each answer must differ")
        ranking = row.get("ranking")
        if not isinstance(ranking, Sequence) or len(ranking) != len(completions):
            raise where.error("ranking", f"expected one integer rank per answer ({len(completions)})")
        if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in ranking):
            raise where.error("ranking", "expected non-negative integer ranks (0 = best)")
        if len(set(ranking)) < 2:
            raise where.error("ranking", "ranks every answer equal; a comparison must prefer at least one answer")
        rid = str(row.get("id") or stable_id(prompt, list(completions)))
        return cls(prompt, tuple(completions), tuple(ranking), str(row.get("source") or ""),
                   str(row.get("labeler") or ""), rid)

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt, "completions": list(self.completions),
                "ranking": list(self.ranking), "source": self.source, "labeler": self.labeler}

    def pairs(self) -> list[tuple[int, int]]:
        """Every (better, worse) index pair; ties give no pair."""
        k = len(self.completions)
        return [(i, j) for i in range(k) for j in range(k) if self.ranking[i] < self.ranking[j]]


def _comparison_aliases(row: Mapping[str, Any], where: Where) -> Mapping[str, Any]:
    """Accept prompt/completions/ranking, prompt/chosen/rejected, and Anthropic HH chosen/rejected dialogues."""
    if "completions" in row:
        return row
    if "chosen" in row and "rejected" in row:
        chosen, rejected = row["chosen"], row["rejected"]
        if not isinstance(chosen, str) or not isinstance(rejected, str):
            raise where.error("chosen", "expected chosen and rejected to be strings")
        if "prompt" in row:
            return {**row, "completions": [chosen, rejected], "ranking": [0, 1]}
        prompt, chosen_answer = split_hh_dialogue(chosen, where, "chosen")
        prompt_r, rejected_answer = split_hh_dialogue(rejected, where, "rejected")
        if prompt != prompt_r:
            raise where.error("rejected", "does not share the chosen dialogue's turns before the last answer")
        return {**row, "prompt": prompt, "completions": [chosen_answer, rejected_answer], "ranking": [0, 1],
                "source": row.get("source") or "hh-rlhf"}
    raise where.error(None, f"has columns {sorted(row)}; expected prompt + completions + ranking, or chosen + rejected")


def split_hh_dialogue(text: str, where: Where, field_name: str) -> tuple[list[Message], str]:
    """Split an Anthropic HH dialogue ("\\n\\nHuman: ...\\n\\nAssistant: ...") into the
    conversation before the last assistant turn and that turn's text."""
    marker = "\n\nAssistant:"
    cut = text.rfind(marker)
    if cut < 0:
        raise where.error(field_name, "has no '\\n\\nAssistant:' turn; expected an HH-RLHF dialogue")
    answer = text[cut + len(marker):].strip()
    messages: list[Message] = []
    for chunk in text[:cut].split("\n\n"):
        if chunk.startswith("Human:"):
            messages.append({"role": "user", "content": chunk[len("Human:"):].strip()})
        elif chunk.startswith("Assistant:"):
            messages.append({"role": "assistant", "content": chunk[len("Assistant:"):].strip()})
        elif messages and chunk.strip():  # a paragraph break inside a turn
            messages[-1]["content"] += "\n\n" + chunk.strip()
    if not messages or messages[-1]["role"] != "user":
        raise where.error(field_name, "expected the turn before the last answer to be a Human turn")
    return messages, answer


@dataclass(frozen=True)
class PretrainText:
    """A document of plain text for the ptx language-modelling loss."""

    text: str
    id: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: Where) -> PretrainText:
        text = _require(row, "text", where)
        if not text.strip():
            raise where.error("text", "is empty")
        return cls(text, str(row.get("id") or stable_id(text)))

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text}


@dataclass(frozen=True)
class EvalItem:
    """A held-out prompt to answer, with what is known about a good answer."""

    prompt: Prompt
    category: str = "other"
    reference: str | None = None
    constraints: Constraints | None = None
    id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: Where) -> EvalItem:
        prompt = parse_prompt(row.get("prompt"), where)
        reference = row.get("reference", row.get("completion"))
        if reference is not None and not isinstance(reference, str):
            raise where.error("reference", "expected a string")
        return cls(prompt, str(row.get("category") or "other"), reference,
                   Constraints.from_row(row.get("constraints"), where),
                   str(row.get("id") or stable_id(prompt)), dict(row.get("metadata") or {}))

    @classmethod
    def from_demonstration(cls, demo: Demonstration) -> EvalItem:
        return cls(demo.prompt, demo.category, demo.completion, demo.constraints, demo.id)

    def to_row(self) -> dict[str, Any]:
        row = {"id": self.id, "category": self.category, "prompt": self.prompt, "reference": self.reference,
               "metadata": self.metadata}
        if self.constraints and self.constraints.to_row():
            row["constraints"] = self.constraints.to_row()
        return row


SCHEMAS = {"demonstrations": Demonstration, "comparisons": Comparison, "pretrain": PretrainText, "eval": EvalItem}
