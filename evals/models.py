"""What an eval "model" is: something that answers prompts, with a type, a size and a stable identity.

A model spec (``--models`` / ``--baseline``) is one of:

  base                 the base model (``--base-model``, default smollm2-135m) given each prompt as raw
                       text: the paper's "GPT" baseline
  base-prompted        the same model behind a few-shot instruction prefix ("GPT-prompted")
  base:SPEC            / prompted:SPEC   the same two, over any model spec
  sft | ppo | ppo-ptx  the newest registry checkpoint of that stage; or a checkpoint name, a local
                       model directory, a .gguf file or a hub id (answers in the chat format)
  openai:NAME@URL      a remote OpenAI-compatible endpoint (e.g. a far larger model as the baseline);
                       the key comes from $OPENAI_API_KEY (any value for servers that need none)

Every model offers what ``instructrl.models.policy.Policy`` offers the evals (``generate``, ``logprobs``,
``format``) and carries ``identity``: the content hash of a checkpoint's weights, or the spec for
embedded, hub and remote models, so the generation cache is keyed by what produced an answer.
``CachedModel`` puts the cache in front of any of them.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

from evals.cache import CachedText, GenerationCache, generation_key, logprob_key
from instructrl.chat import PLAIN_ROLES, as_messages
from instructrl.data.schemas import Prompt
from instructrl.errors import ModelError
from instructrl.models.policy import Generation, SamplingParams

DEFAULT_BASE_MODEL = "smollm2-135m"
# The paper's model types (Ouyang et al. 2022, Fig. 1), in plotting order.
MODEL_TYPES = ("GPT", "GPT-prompted", "SFT", "PPO", "PPO-ptx", "remote", "other")
STAGE_TYPES = {"base": "GPT", "sft": "SFT", "ppo": "PPO", "ppo-ptx": "PPO-ptx"}

# The few-shot prefix that puts a base model in "instruction-following mode" (paper §3.5,
# "GPT-prompted"). Written for this project; the stop sequences end the answer at the next example.
FEW_SHOT_PREFIX = """\
Below are instructions that people gave to an expert assistant, each followed by the assistant's \
answer. The answers follow the instruction exactly, are accurate, and are no longer than needed.

Instruction: Give three tips for keeping houseplants alive.
Answer: 1. Water only when the top few centimetres of soil are dry.
2. Put each plant where the light suits it; most like bright, indirect light.
3. Use pots with drainage holes so the roots never sit in water.

Instruction: What is the boiling point of water at sea level in degrees Celsius?
Answer: 100 degrees Celsius.

Instruction: Rewrite this sentence so it sounds polite: "Send me the report now."
Answer: Could you please send me the report when you have a moment?

Instruction: Write a two-sentence summary of why people keep bees.
Answer: People keep bees mainly for honey and beeswax. Bees also pollinate crops and gardens, \
which raises fruit and vegetable yields.

"""
DEFAULT_PARAMS = SamplingParams()
PROMPTED_STOPS = ("\nInstruction:", "\n\n\n")


def conversation_text(prompt: Prompt) -> str:
    """A prompt as plain text: a string as it is, a conversation as "User: ..." turns."""
    if isinstance(prompt, str):
        return prompt.strip()
    return "\n\n".join(f"{PLAIN_ROLES[m['role']]}: {m['content']}" for m in as_messages(prompt))


def raw_prompt(prompt: Prompt) -> str:
    """What the plain base model ("GPT") sees: the prompt text, then a blank line to continue from."""
    return conversation_text(prompt) + "\n\n"


def prompted_prompt(prompt: Prompt, prefix: str = FEW_SHOT_PREFIX) -> str:
    """What "GPT-prompted" sees: the few-shot prefix and the prompt as the next instruction."""
    return f"{prefix}Instruction: {conversation_text(prompt)}\nAnswer:"


def parameter_count(folder: str | Path) -> int | None:
    """Parameters stored in a model directory's safetensors files (read from their headers only)."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total


class EvalModel:
    """The common interface. ``kind`` is one of MODEL_TYPES; ``size`` the parameter count or None."""

    name: str
    kind: str
    shares_prefix: bool = False  # capability: ``prefix_logprobs`` (a local policy's KV cache)
    identity: str  # what produced the answers to chat=True calls (weights and presentation)
    raw_identity: str  # what produced answers to raw text (chat=False) and log-probabilities

    @property
    def size(self) -> int | None:
        return None

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams = DEFAULT_PARAMS,
                 batch_size: int = 16, chat: bool = True) -> list[Generation]:
        raise NotImplementedError

    def logprobs(self, prompts: Sequence[str], continuations: Sequence[str], batch_size: int = 16) -> list[float]:
        raise ModelError(f"model {self.name} cannot score continuations",
                         "use a local model for log-probability metrics (e.g. TruthfulQA MC)")

    def prefix_logprobs(self, prefix: str, requests: Sequence[tuple[str, Sequence[str]]],
                        batch_size: int = 32) -> list[list[float]]:
        """``Policy.prefix_logprobs``: only models that declare ``shares_prefix`` have it."""
        raise ModelError(f"model {self.name} cannot share a prompt prefix across requests",
                         "score with logprobs(), or use a local model")

    def format(self, prompt: Prompt) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Free the weights; the next call loads them again."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.kind, "identity": self.identity, "size": self.size}


class PolicyPool:
    """Loads each local model once, so "base" and "base-prompted" share one set of weights."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def get(self, spec: str):
        if spec not in self._loaded:
            from instructrl.models.policy import Policy

            self._loaded[spec] = Policy.load(spec)
        return self._loaded[spec]

    def release(self, spec: str) -> None:
        self._loaded.pop(spec, None)


class LocalEvalModel(EvalModel):
    """A local causal LM presented as chat ("chat"), raw text ("raw", GPT) or few-shot ("prompted")."""

    shares_prefix = True

    def __init__(self, spec: str, name: str, kind: str, mode: str, pool: PolicyPool,
                 prefix: str = FEW_SHOT_PREFIX):
        if mode not in ("chat", "raw", "prompted"):
            raise ValueError(f"unknown presentation mode {mode!r}")
        self.spec, self.name, self.kind, self.mode, self.pool, self.prefix = spec, name, kind, mode, pool, prefix
        extra = hashlib.sha256(prefix.encode()).hexdigest()[:12] if mode == "prompted" else ""
        weights = weights_identity(spec)
        self.identity = f"{mode}{':' + extra if extra else ''}|{weights}"
        # raw text reaches the weights unchanged whatever the mode, so base and base-prompted share it
        self.raw_identity = f"raw|{weights}"

    @property
    def policy(self):
        return self.pool.get(self.spec)

    @property
    def tokenizer(self):
        return self.policy.tokenizer

    @cached_property
    def _size(self) -> int | None:
        from instructrl.models.loading import resolve_model

        path = Path(resolve_model(self.spec))
        counted = parameter_count(path) if path.is_dir() else None
        return counted if counted is not None else sum(p.numel() for p in self.policy.model.parameters())

    @property
    def size(self) -> int | None:
        return self._size

    def format(self, prompt: Prompt) -> str:
        if self.mode == "chat":
            return self.policy.format(prompt)
        return raw_prompt(prompt) if self.mode == "raw" else prompted_prompt(prompt, self.prefix)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams = DEFAULT_PARAMS,
                 batch_size: int = 16, chat: bool = True) -> list[Generation]:
        """``chat=True``: present each prompt the way this model type is meant to see it (chat
        format, raw text or few-shot prefix). ``chat=False``: the caller already wrote raw text."""
        if self.mode == "chat" or not chat:
            return self.policy.generate(prompts, params, batch_size=batch_size, chat=chat)
        texts = [self.format(p) for p in prompts]
        if self.mode == "prompted":
            params = _with_stops(params, PROMPTED_STOPS)
        outs = self.policy.generate(texts, params, batch_size=batch_size, chat=False)
        return [Generation(g.text.strip(), g.token_ids, g.finish_reason, g.prompt_tokens) for g in outs]

    def logprobs(self, prompts: Sequence[str], continuations: Sequence[str], batch_size: int = 16) -> list[float]:
        return self.policy.logprobs(prompts, continuations, batch_size=batch_size)

    def prefix_logprobs(self, prefix: str, requests: Sequence[tuple[str, Sequence[str]]],
                        batch_size: int = 32) -> list[list[float]]:
        return self.policy.prefix_logprobs(prefix, requests, batch_size)

    def close(self) -> None:
        self.pool.release(self.spec)


def _with_stops(params: SamplingParams, stops: Sequence[str]) -> SamplingParams:
    from dataclasses import replace

    return replace(params, stop=tuple(dict.fromkeys([*params.stop, *stops])))


class RemoteModel(EvalModel):
    """A model behind an OpenAI-compatible API (chat completions; raw text uses completions)."""

    def __init__(self, model: str, url: str, name: str | None = None, workers: int = 8, timeout: float = 120.0):
        from instructrl.remote import Endpoint, RemoteSpec

        self.endpoint = Endpoint(RemoteSpec(model, url.rstrip("/")), timeout)
        self.model, self.url, self.name, self.kind = model, self.endpoint.spec.url, name or model, "remote"
        self.identity = self.raw_identity = f"openai:{model}@{self.url}"
        self.workers = workers

    def format(self, prompt: Prompt) -> str:
        return raw_prompt(prompt)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams = DEFAULT_PARAMS,
                 batch_size: int = 16, chat: bool = True) -> list[Generation]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda p, sample: self._one(p, params, chat, sample), prompts,
                                 _samples(prompts, params)))

    def _one(self, prompt: Prompt, params: SamplingParams, chat: bool, sample: int = 0) -> Generation:
        common: dict[str, Any] = {"max_tokens": params.max_new_tokens,
                                  "temperature": params.temperature, "top_p": params.top_p}
        if params.stop:
            common["stop"] = list(params.stop)[:4]  # the API takes at most four
        if params.seed is not None:  # a prompt asked again under sampling wants another answer, not the same one
            common["seed"] = params.seed + sample
        reply = (self.endpoint.chat(as_messages(prompt), **common) if chat
                 else self.endpoint.complete(conversation_text(prompt), **common))
        return Generation(reply.text, (), reply.finish_reason, reply.prompt_tokens)


def weights_identity(spec: str) -> str:
    """A stable name for the weights behind a local spec: the card's content hash for a checkpoint,
    a hash of the files for other directories, the pinned package for embedded models."""
    from instructrl.checkpoints import CARD, Card, Registry, content_hash
    from instructrl.models.loading import EMBEDDED, TINY, tiny_model_dir

    if spec in EMBEDDED:
        return f"embedded:{spec}:{EMBEDDED[spec][0]}"
    if spec == TINY:
        return f"tiny:{content_hash(tiny_model_dir())[:16]}"
    found = Registry().find(spec)
    if found is not None:
        return f"sha256:{found.card.content_hash}"
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / CARD).exists():
            return f"sha256:{Card.read(path).content_hash}"
        return f"sha256:{content_hash(path)}"
    if path.suffix == ".gguf" and path.exists():
        stat = path.stat()
        return f"gguf:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"hub:{spec}"


def model_type(spec: str) -> tuple[str, str]:
    """(type, display name) of a local spec: the registry stage decides the paper's model type."""
    from instructrl.checkpoints import CARD, Card, Registry

    found = Registry().find(spec)
    card = found.card if found is not None else None
    if card is None and (Path(spec) / CARD).exists():
        card = Card.read(Path(spec))
    if card is None:
        return "other", Path(spec).name if Path(spec).exists() else spec
    if card.kind != "policy":
        raise ModelError(f"{spec} is a {card.kind} checkpoint, not a policy",
                         "evaluate a policy (sft, ppo, ppo-ptx); use a reward model as a judge with --judge rm:SPEC")
    return STAGE_TYPES.get(card.stage, "other"), card.name


def parse_model(spec: str, base_model: str = DEFAULT_BASE_MODEL, pool: PolicyPool | None = None) -> EvalModel:
    """An EvalModel for one spec (see the module doc)."""
    spec = spec.strip()
    pool = pool or PolicyPool()
    if not spec:
        raise ModelError("an empty model spec was given", "list models as --models base,sft,...")
    if spec.startswith("openai:"):
        from instructrl.remote import parse_remote

        remote = parse_remote(spec, "openai")
        return RemoteModel(remote.model, remote.url)
    if spec in ("base", "base-prompted") or spec.startswith(("base:", "prompted:")):
        prompted = spec.startswith("prompted") or spec == "base-prompted"
        inner = spec.partition(":")[2] or base_model
        label = "base-prompted" if prompted else "base"
        name = label if inner == base_model else f"{label}:{inner}"
        return LocalEvalModel(inner, name, "GPT-prompted" if prompted else "GPT",
                          "prompted" if prompted else "raw", pool)
    from instructrl.models.loading import resolve_model

    resolve_model(spec)  # fails early, with the fix, for an unknown name
    kind, name = model_type(spec)
    return LocalEvalModel(spec, name, kind, "chat", pool)


def parse_models(specs: Sequence[str], base_model: str = DEFAULT_BASE_MODEL,
                 pool: PolicyPool | None = None) -> list[EvalModel]:
    """Models for a list of specs, one per distinct identity (the first spec's name is kept)."""
    pool = pool or PolicyPool()
    models: dict[str, EvalModel] = {}
    for spec in specs:
        model = parse_model(spec, base_model, pool)
        models.setdefault(model.identity, model)
    return list(models.values())


def _samples(prompts: Sequence[Prompt], params: SamplingParams) -> list[int]:
    """Which sample of its prompt each entry is: greedy answers are one per prompt (always 0), a
    prompt repeated k times under sampling asks for k different answers (0 .. k-1)."""
    if params.temperature == 0:
        return [0] * len(prompts)
    seen: dict[str, int] = {}
    out = []
    for prompt in prompts:
        key = json.dumps(prompt, sort_keys=True)
        out.append(seen.get(key, 0))
        seen[key] = out[-1] + 1
    return out


class CachedModel(EvalModel):
    """``model`` behind the generation cache: only answers not cached yet are generated, a batch at
    a time, each batch committed before the next starts (so an interrupted eval resumes)."""

    def __init__(self, model: EvalModel, cache: GenerationCache, progress: bool = True):
        self.inner, self.cache, self.progress = model, cache, progress
        self.name, self.kind = model.name, model.kind
        self.identity, self.raw_identity = model.identity, model.raw_identity

    @property
    def size(self) -> int | None:
        return self.inner.size

    @property
    def shares_prefix(self) -> bool:  # type: ignore[override]
        return self.inner.shares_prefix

    def format(self, prompt: Prompt) -> str:
        return self.inner.format(prompt)

    def close(self) -> None:
        self.inner.close()

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams = DEFAULT_PARAMS,
                 batch_size: int = 16, chat: bool = True) -> list[Generation]:
        identity = self.identity if chat else self.raw_identity
        keys = [generation_key(identity, p, params, chat, sample) for p, sample in zip(prompts, _samples(prompts, params))]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        self.cache.stats.hits += sum(1 for k in keys if k in found)
        todo: dict[str, Prompt] = {}
        for key, prompt in zip(keys, prompts):
            if key not in found:
                todo.setdefault(key, prompt)
        if todo:
            found.update(self._fill(todo, params, batch_size, chat, identity))
        return [Generation(found[k].text, found[k].token_ids, found[k].finish_reason, found[k].prompt_tokens)
                for k in keys]

    def _fill(self, todo: dict[str, Prompt], params: SamplingParams, batch_size: int, chat: bool,
              identity: str) -> dict[str, CachedText]:
        from tqdm.auto import tqdm

        # similar lengths in one batch pad less
        order = sorted(todo, key=lambda k: len(json.dumps(todo[k])))
        made: dict[str, CachedText] = {}
        bar = tqdm(total=len(order), desc=f"generate {self.name}", unit="answer", disable=not self.progress,
                   leave=False)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            outs = self.inner.generate([todo[k] for k in chunk], params, batch_size=batch_size, chat=chat)
            rows = []
            for key, out in zip(chunk, outs):
                made[key] = CachedText(out.text, out.finish_reason, tuple(out.token_ids), out.prompt_tokens)
                rows.append((key, todo[key], params, made[key]))
            self.cache.put_many(identity, rows)
            self.cache.stats.generated += len(chunk)
            bar.update(len(chunk))
        bar.close()
        return made

    def logprobs(self, prompts: Sequence[str], continuations: Sequence[str], batch_size: int = 16) -> list[float]:
        keys = [logprob_key(self.raw_identity, p, c) for p, c in zip(prompts, continuations)]
        found = self.cache.get_logprobs(list(dict.fromkeys(keys)))
        self.cache.stats.logprob_hits += sum(1 for k in keys if k in found)
        missing = [i for i, k in enumerate(keys) if k not in found]
        first: dict[str, int] = {}  # each missing pair once (the policy shares a prompt's KV cache itself)
        for i in missing:
            first.setdefault(keys[i], i)
        unique = list(first.values())
        if unique:
            values = self.inner.logprobs([prompts[i] for i in unique], [continuations[i] for i in unique],
                                         batch_size=batch_size)
            rows = [(keys[i], v) for i, v in zip(unique, values)]
            self.cache.put_logprobs(self.raw_identity, rows)
            self.cache.stats.logprobs_computed += len(rows)
            found.update(rows)
        return [found[k] for k in keys]

    def prefix_logprobs(self, prefix: str, requests: Sequence[tuple[str, Sequence[str]]],
                        batch_size: int = 32) -> list[list[float]]:
        """The inner model's ``prefix_logprobs`` for the requests with any pair not cached yet, stored
        under the same keys as ``logprobs`` (prompt = prefix + tail), so the two paths share the cache."""
        keys = [[logprob_key(self.raw_identity, prefix + tail, c) for c in conts] for tail, conts in requests]
        found = self.cache.get_logprobs(list(dict.fromkeys(k for row in keys for k in row)))
        todo = [i for i, row in enumerate(keys) if any(k not in found for k in row)]
        self.cache.stats.logprob_hits += sum(len(row) for row in keys) - sum(len(keys[i]) for i in todo)
        if todo:
            values = self.inner.prefix_logprobs(prefix, [requests[i] for i in todo], batch_size)
            rows = [(k, v) for i, row in zip(todo, values) for k, v in zip(keys[i], row)]
            self.cache.put_logprobs(self.raw_identity, rows)
            self.cache.stats.logprobs_computed += len(rows)
            found.update(rows)
        return [[found[k] for k in row] for row in keys]
