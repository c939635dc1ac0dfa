"""The reward-model interface: an LM backbone with a scalar head read at the answer's last token.

It is a standard ``AutoModelForSequenceClassification`` with one label, so a reward checkpoint
also loads with plain transformers; instructrl reads the head at the last non-padding position of
right-padded input itself (the prompt in chat format, then the answer and the end-of-answer
token) and subtracts the checkpoint's ``reward_bias`` (set after training so the demonstrations
score 0 on average, as in the paper).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from instructrl.chat import format_answer, format_prompt
from instructrl.data.schemas import Prompt

if TYPE_CHECKING:
    from instructrl.checkpoints import Registry

BIAS_FILE = "reward.json"


class RewardModel(nn.Module):
    def __init__(self, model, tokenizer, bias: float = 0.0, max_length: int = 1024):
        super().__init__()
        self.model, self.tokenizer, self.bias, self.max_length = model, tokenizer, bias, max_length
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id

    @classmethod
    def load(cls, spec: str, dtype: str = "float32", registry: Registry | None = None) -> RewardModel:
        """A trained reward checkpoint, or any causal LM with a freshly initialised head; checkpoint
        names are looked up in ``registry`` (as in ``resolve_model``), once."""
        from transformers import AutoModelForSequenceClassification

        from instructrl.models.loading import load_tokenizer, resolve_model, torch_dtype

        path = resolve_model(spec, registry)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch_dtype(dtype))
        bias_file = Path(path) / BIAS_FILE
        bias = json.loads(bias_file.read_text())["bias"] if bias_file.exists() else 0.0
        return cls(model, load_tokenizer(path), bias)

    def save(self, path: str | Path) -> None:
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        (Path(path) / BIAS_FILE).write_text(json.dumps({"bias": self.bias}))

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Raw (un-biased) rewards [B] for right-padded input_ids / attention_mask [B, T]."""
        hidden = self.model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        last = attention_mask.sum(dim=1) - 1  # right padding: the last real token
        final = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        return self.model.score(final).squeeze(-1).float()

    def encode(self, prompts: Sequence[Prompt], completions: Sequence[str]) -> dict[str, torch.Tensor]:
        """Right-padded token batch of prompt + answer + end-of-answer, truncated from the left."""
        tok = self.tokenizer
        texts = [format_prompt(tok, p) + format_answer(tok, c) for p, c in zip(prompts, completions)]
        tok.padding_side, tok.truncation_side = "right", "left"
        return tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length,
                   add_special_tokens=False).to(self.device)

    @torch.no_grad()
    def score(self, prompts: Sequence[Prompt], completions: Sequence[str], batch_size: int = 16) -> list[float]:
        """Rewards for each (prompt, answer), normalised by the checkpoint's bias."""
        if len(prompts) != len(completions):
            raise ValueError("prompts and completions must have the same length")
        was_training = self.training
        self.eval()
        scores: list[float] = []
        for start in range(0, len(prompts), batch_size):
            batch = self.encode(prompts[start:start + batch_size], completions[start:start + batch_size])
            scores.extend((self(batch["input_ids"], batch["attention_mask"]) - self.bias).tolist())
        self.train(was_training)
        return scores
