"""PPO step 1 on an OpenAI-compatible inference engine (``generation.backend: remote``).

The engine (vLLM started with ``--enable-lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``, or
``instructrl serve --allow-runtime-lora``) serves the same base model as the policy. Each step:

1. the policy's current LoRA adapter is saved to ``adapter_dir/step-N`` and loaded on the engine as
   ``ppo-step-N`` (vLLM's ``/v1/load_lora_adapter``);
2. every prompt is sent as token ids to ``/v1/completions`` with ``"model": "ppo-step-N"`` and
   ``return_token_ids``, one request per prompt with its own seed (a seed per request would give every
   prompt of a batched request the same random stream); the engine batches them;
3. the previous step's adapter is unloaded.

Only the token ids come back: the trainer recomputes every log-prob and value from them
(``train.ppo.score``), so the engine's numerics never enter the loss. A full fine-tune cannot be
sent as an adapter, so the remote backend needs LoRA (``model.lora.r > 0``); the config refuses it
otherwise. The held-out gold curve is still sampled in-process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from torch import nn

from instructrl.config import GenerationConfig
from instructrl.errors import ModelError
from instructrl.remote import Endpoint, RemoteSpec, TokenReply
from train.rollout import Samples, encode_prompts, prompt_rows, row_seed, samples_from_answers

ADAPTER_PREFIX = "ppo-step-"


def adapter_name(step: int) -> str:
    return f"{ADAPTER_PREFIX}{step}"


def checked_answer(reply: TokenReply, eos_id: int, max_new_tokens: int) -> tuple[int, ...]:
    """An answer's token ids, refused unless it ended with the end token or used its whole budget
    (anything else, e.g. a stop sequence, would leave an answer the rollout cannot tell from padding)."""
    ids = reply.token_ids
    if ids and eos_id in ids[:-1]:
        raise ModelError(f"the engine answered past the end token ({len(ids)} tokens)",
                         "serve the model with its end token as the stop token (vLLM does so by default)")
    if (not ids or ids[-1] != eos_id) and len(ids) != max_new_tokens:
        raise ModelError(f"the engine stopped an answer after {len(ids)} of {max_new_tokens} tokens without the "
                         f"end token (finish_reason {reply.finish_reason})",
                         "send no stop sequences and give the engine a context that fits the prompt and answer")
    return ids


class RemoteSampler:
    """Samples PPO rollouts from the policy's adapter on a remote engine; see the module docstring."""

    def __init__(self, endpoint: Endpoint, adapter_dir: Path, seed: int, workers: int = 64):
        self.endpoint, self.adapter_dir, self.seed, self.workers = endpoint, Path(adapter_dir), seed, workers
        self.current: str | None = None  # the adapter loaded on the engine for the latest step

    @classmethod
    def from_config(cls, config: GenerationConfig, run_dir: Path, seed: int) -> RemoteSampler:
        spec = RemoteSpec("base", str(config.url).rstrip("/"))
        endpoint = Endpoint(spec, config.timeout_s, api_key=os.environ.get(config.api_key_env),
                            role="generation endpoint")
        return cls(endpoint, Path(config.adapter_dir) if config.adapter_dir else run_dir / "adapters", seed,
                   config.concurrency)

    def publish(self, policy: nn.Module, step: int) -> str:
        """Save the policy's adapter for ``step`` and load it on the engine; returns its served name."""
        folder, name = self.adapter_dir / f"step-{step}", adapter_name(step)
        policy.save_pretrained(str(folder))
        if self.current is None:  # a resumed run: the crashed process may have left this name loaded
            with contextlib.suppress(ModelError):
                self.endpoint.unload_adapter(name)
        self.endpoint.load_adapter(name, str(folder.resolve()))
        if self.current is not None and self.current != name:
            self.endpoint.unload_adapter(self.current)
        self.current = name
        return name

    def sample(self, policy: nn.Module, tokenizer, texts: Sequence[str], max_prompt_tokens: int,
               max_new_tokens: int, temperature: float, step: int) -> Samples:
        """Step 1's answers, drawn by the engine from ``policy``'s adapter as of ``step``."""
        name = self.publish(policy, step)
        enc = encode_prompts(tokenizer, texts, max_prompt_tokens, next(policy.parameters()).device)
        prompts = prompt_rows(enc)

        def answer(row: int) -> tuple[int, ...]:
            reply = self.endpoint.complete_tokens(prompts[row], model=name, max_tokens=max_new_tokens,
                                                  temperature=temperature, seed=row_seed(self.seed, step, row))
            return checked_answer(reply, tokenizer.eos_token_id, max_new_tokens)

        with ThreadPoolExecutor(max_workers=min(self.workers, len(prompts))) as pool:
            answers = list(pool.map(answer, range(len(prompts))))
        return samples_from_answers(tokenizer, enc, answers)
