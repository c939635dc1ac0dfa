"""Experience for PPO: the frozen ``Rollout`` that carries one batch between the loop's steps, the
actor-critic module whose single forward pass gives log-probs, entropies, values (and the ptx
language-modelling term), and the sampling and scoring helpers that fill a rollout.

Layout: every row is ``[left-padded prompt | answer, right-padded]``. Prompts are left padded so all
answers start at the same column P; an answer's mask covers its tokens up to and including the end
token (the decision to stop is an action too). Position ids count real tokens only, as in generation.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from instructrl.models.answers import answer_end
from train.rl_math import entropy


@dataclass(frozen=True)
class Samples:
    """What sampling produced. B rows, P prompt columns, R answer columns."""

    sequences: torch.Tensor  # [B, P + R] long: prompt (left padded) then answer (right padded)
    attention_mask: torch.Tensor  # [B, P + R] long: 1 on real tokens
    response_mask: torch.Tensor  # [B, R] float: 1 on answer tokens, the end token included
    ended: torch.Tensor  # [B] bool: the answer ended with the end token (not cut at max_new_tokens)
    prompt_length: int  # P
    texts: tuple[str, ...]  # the answers as text, end token removed

    @property
    def position_ids(self) -> torch.Tensor:  # [B, P + R]
        return (self.attention_mask.cumsum(dim=1) - 1).clamp(min=0)


@dataclass(frozen=True)
class Rollout:
    """One batch of experience, filled by step 2 (score) and read by steps 3-5."""

    samples: Samples
    logprobs: torch.Tensor  # [B, R] log π_old(y_t | ·) at the sampling temperature
    ref_logprobs: torch.Tensor  # [B, R] log π_SFT(y_t | ·) at the sampling temperature
    values: torch.Tensor  # [B, R] V_old(s_t), the critic before this update
    scores: torch.Tensor  # [B] reward-model score, minus the penalty for answers that never end
    rm_scores: torch.Tensor  # [B] raw reward-model score

    @property
    def mask(self) -> torch.Tensor:  # [B, R]
        return self.samples.response_mask


@dataclass(frozen=True)
class Advantages:
    """Step 3 and 4's output: per-token rewards, the KL sample, advantages and returns. All [B, R]."""

    rewards: torch.Tensor
    kl: torch.Tensor
    advantages: torch.Tensor  # whitened over the batch's answer tokens
    returns: torch.Tensor


# ---- the model ---------------------------------------------------------------------------------


def core_model(lm: nn.Module) -> nn.Module:
    """The transformers model inside a peft wrapper (LoRA layers stay injected in it)."""
    return lm.get_base_model() if hasattr(lm, "get_base_model") else lm


class ValueHead(nn.Module):
    """A scalar head on a backbone's hidden states: the critic, shared with the policy or on its own
    backbone initialised from the reward model (the paper's choice)."""

    def __init__(self, backbone: nn.Module | None, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        with full_precision(hidden):
            return self.head(hidden.to(self.head.weight.dtype)).squeeze(-1).float()


class ActorCritic(nn.Module):
    """The policy LM and its critic, trained together under one optimiser (and one DDP or FSDP wrapper).

    ``critic.backbone`` is None for a value head on the policy's own hidden states."""

    def __init__(self, policy: nn.Module, critic: ValueHead, temperature: float):
        super().__init__()
        self.policy, self.critic, self.temperature = policy, critic, temperature

    def forward(self, sequences: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, prompt_length: int = 0, ptx_ids: torch.Tensor | None = None,
                ptx_mask: torch.Tensor | None = None, call: Callable[[ActorCritic], Any] | None = None) -> Any:
        """logprobs, entropy, values: [B, R] for the answer tokens; ptx_logprobs [N, L-1] when ptx_ids are given.

        ``call``: run ``call(self)`` instead and return what it returns. A sharded module computes with
        whole weights only inside its root's forward (FSDP 2 gathers the parameters outside the sharded
        layers in the root's hooks), so sampling from a sharded policy goes through here
        (``train.sharding.inside``)."""
        if call is not None:
            return call(self)
        with training_kernels(self):
            return self._forward(sequences, attention_mask, position_ids, prompt_length, ptx_ids, ptx_mask)

    def _forward(self, sequences, attention_mask, position_ids, prompt_length, ptx_ids, ptx_mask):
        hidden = policy_hidden(self.policy, sequences, attention_mask, position_ids)
        answer_states = hidden[:, prompt_length - 1:-1]  # the state before each answer token predicts it
        logits = head_logits(self.policy, answer_states) / self.temperature
        targets = sequences[:, prompt_length:]
        all_logprobs = torch.log_softmax(logits, dim=-1)
        logprobs = all_logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():
            answer_entropy = entropy(all_logprobs)
        if self.critic.backbone is None:
            values = self.critic(answer_states)
        else:
            critic_hidden = self.critic.backbone(input_ids=sequences, attention_mask=attention_mask,
                                                 position_ids=position_ids).last_hidden_state
            values = self.critic(critic_hidden[:, prompt_length - 1:-1])
        out = {"logprobs": logprobs, "entropy": answer_entropy, "values": values}
        if ptx_ids is not None:
            out["ptx_logprobs"] = lm_token_logprobs(self.policy, ptx_ids, ptx_mask)
        # tensors of their own, not views ([B, R], a cheap copy): FSDP 2 hooks the backward of a sharded
        # module's outputs, which an in-place op on a view would bypass (and it warns of every view)
        return {key: value.clone() if value.requires_grad else value for key, value in out.items()}


def training_kernels(model: nn.Module):
    """How the policy's, the critic's and the reference's forward passes compute when the frozen weights
    are 16-bit (a float32 model computes as it is):

    * the float32 adapters compute in the weights' dtype under autocast, with peft's cast of every
      input up to float32 switched off: otherwise each adapted layer copies its activations to float32
      and its output back, in the forward and again in the backward pass (``head_logits`` and
      ``ValueHead`` still compute in float32);
    * on a CPU, attention uses the plain ("math") kernel: torch's fused (flash) kernel has a slow
      16-bit backward there (about 3x the plain one at PPO's lengths).

    Policy and reference go through the same context: their log-probs are compared token by token (KL),
    and different kernels would differ by their rounding."""
    param = next(model.parameters())
    if param.dtype == torch.float32:
        return contextlib.nullcontext()
    from peft.helpers import disable_input_dtype_casting

    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast(param.device.type, dtype=param.dtype))
    stack.enter_context(disable_input_dtype_casting(model))
    if param.device.type == "cpu":
        from torch.nn.attention import SDPBackend, sdpa_kernel

        stack.enter_context(sdpa_kernel([SDPBackend.MATH]))
    return stack


def full_precision(tensor: torch.Tensor):
    """Autocast off, for the float32 heads inside ``training_kernels``."""
    return torch.autocast(tensor.device.type, enabled=False)


def policy_hidden(lm: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Final hidden states [B, T, H]; the vocabulary head is applied by callers only where needed."""
    core = core_model(lm)
    return core.base_model(input_ids=input_ids, attention_mask=attention_mask,
                           position_ids=position_ids).last_hidden_state


def head_logits(lm: nn.Module, states: torch.Tensor) -> torch.Tensor:
    """The vocabulary head on ``states`` [..., H] -> float32 logits [..., V], computed in float32 whatever
    the model's dtype: log-probs, ratios and KL need more precision than bfloat16 logits carry."""
    head = core_model(lm).get_output_embeddings()
    bias = None if head.bias is None else head.bias.float()
    with full_precision(states):
        return torch.nn.functional.linear(states.float().contiguous(), _float32_weight(head), bias)


def _float32_weight(head: nn.Module) -> torch.Tensor:
    """The head's weight in float32. A frozen 16-bit head (LoRA on a bfloat16 base) keeps its float32
    copy between calls (at 49k x 576 the cast costs 50 ms a call); the copy is redone if the weight changes."""
    weight = head.weight
    if weight.dtype == torch.float32 or weight.requires_grad:
        return weight.float()
    key = (weight.data_ptr(), weight._version)
    cached = head.__dict__.get("_float32_copy")
    if cached is None or cached[0] != key:
        cached = head.__dict__["_float32_copy"] = (key, weight.detach().float())
    return cached[1]


def lm_token_logprobs(lm: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """log p(x_t | x_<t) for t ≥ 1 of right-padded text: [N, L] -> [N, L-1] (temperature 1)."""
    hidden = policy_hidden(lm, input_ids, attention_mask)
    logits = head_logits(lm, hidden[:, :-1])
    return torch.log_softmax(logits, dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)


@torch.no_grad()
def reference_logprobs(ref: nn.Module | None, policy: nn.Module, samples: Samples, temperature: float) -> torch.Tensor:
    """log π_SFT of the answer tokens [B, R]. With LoRA (``ref`` None) the SFT model is the policy with its
    adapters switched off: no second copy of the weights and no second model in memory."""
    lm = ref if ref is not None else policy
    switch_off = lm.disable_adapter() if ref is None and hasattr(lm, "disable_adapter") else contextlib.nullcontext()
    with switch_off, training_kernels(lm):
        hidden = policy_hidden(lm, samples.sequences, samples.attention_mask, samples.position_ids)
        logits = head_logits(lm, hidden[:, samples.prompt_length - 1:-1]) / temperature
    return torch.log_softmax(logits, dim=-1).gather(-1, samples.sequences[:, samples.prompt_length:].unsqueeze(-1)).squeeze(-1)


# ---- sampling ----------------------------------------------------------------------------------


class SamplingCopy:
    """A plain copy of the policy that only samples, refreshed from the policy before each rollout.

    Decoding is bound by reading the weights once per token: with LoRA every adapted layer adds two
    small matrix products per token, and on hardware with native bfloat16 a 16-bit copy halves the bytes
    read. So the copy holds the merged weights (base + adapter change) in ``dtype``. It only draws the
    tokens: the log-probs PPO trains on are recomputed by the policy itself (``ActorCritic.forward``)."""

    def __init__(self, policy: nn.Module, dtype: torch.dtype):
        self.policy = policy
        self.model = copy.deepcopy(core_model(policy))
        self.model = _unloaded(self.model)  # the copy's LoRA layers become plain ones
        # parameters are marked requires_grad (sampling runs under no_grad anyway): torch multiplies a
        # strided [B, 1, H] input by a weight that requires no grad as a batched product over B expanded
        # copies of the weight, which makes the prefill's vocabulary head (49k x 576) seconds slower
        self.model.to(dtype).eval().requires_grad_(True)
        self._filled = False
        self.refresh()

    @torch.no_grad()
    def refresh(self) -> nn.Module:
        """Copy the policy's current weights (adapters merged) into the sampling model; returns it.
        Frozen weights outside the adapted layers never change, so only the first call copies them."""
        targets = dict(self.model.named_modules())
        for name, module in core_model(self.policy).named_modules():
            target = targets.get(name)
            if target is None:
                continue
            if _is_lora_layer(module):
                _merge_into(target.weight, module)
                if module.base_layer.bias is not None:
                    target.bias.copy_(module.base_layer.bias)
                continue
            for key, param in module.named_parameters(recurse=False):
                if param.requires_grad or not self._filled:
                    getattr(target, key).copy_(param)
        self._filled = True
        return self.model


def _merge_into(weight: torch.Tensor, layer: nn.Module) -> None:
    """``weight`` ← the layer's base weight plus its active adapters' change. A plain LoRA adapter is
    merged in one pass over the weight (base + scaling · B A as one ``addmm``, in ``weight``'s dtype);
    other adapter kinds go through peft's ``get_delta_weight``."""
    adapters = [name for name in layer.active_adapters if name in layer.lora_A]
    plain = len(adapters) == 1 and not layer.fan_in_fan_out and adapters[0] not in layer.lora_variant
    if plain:
        name = adapters[0]
        lora_a, lora_b = (m[name].weight.to(weight.dtype) for m in (layer.lora_A, layer.lora_B))
        torch.addmm(layer.base_layer.weight.to(weight.dtype), lora_b, lora_a, alpha=layer.scaling[name], out=weight)
        return
    weight.copy_(layer.base_layer.weight)
    for name in adapters:
        weight.add_(layer.get_delta_weight(name))


def _is_lora_layer(module: nn.Module) -> bool:
    """A peft LoRA layer: a base layer plus adapters whose change ``get_delta_weight`` gives."""
    return hasattr(module, "get_delta_weight") and hasattr(module, "base_layer")


def _unloaded(model: nn.Module) -> nn.Module:
    """``model`` with every LoRA layer replaced by its base layer (weights are filled by ``refresh``)."""
    for name, module in list(model.named_modules()):
        if _is_lora_layer(module):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, module.base_layer)
    return model


def encode_prompts(tokenizer, texts: Sequence[str], max_prompt_tokens: int, device) -> dict[str, torch.Tensor]:
    """Left-padded prompt batch; an over-long prompt keeps its end (the question is at the end)."""
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    return tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=max_prompt_tokens,
                     add_special_tokens=False).to(device)


def row_seed(seed: int, step: int, row: int) -> int:
    """The seed of one answer: distinct per (run seed, step, row of the global batch), the same on a rerun
    and whichever process samples the row."""
    return (seed * 1_000_003 + step) * 65_537 + row


def row_uniforms(seeds: Sequence[int], count: int) -> torch.Tensor:
    """[len(seeds), count] uniform numbers in [0, 1): row b's draws, from its own seeded generator."""
    return torch.stack([torch.rand(count, generator=torch.Generator().manual_seed(s)) for s in seeds])


@torch.no_grad()
def sample(lm: nn.Module, tokenizer, prompt_texts: Sequence[str], max_prompt_tokens: int, max_new_tokens: int,
           temperature: float, seeds: Sequence[int] | None = None,
           finished: Callable[[torch.Tensor], bool] | None = None) -> Samples:
    """Sample answers with the KV cache (``decode``); temperature 0 is greedy. ``seeds``: one per prompt
    (``row_seed``), so that an answer depends on its prompt and seed only, not on the rows batched with
    it (default: torch's global generator). ``finished``: see ``decode`` (processes of a sharded model)."""
    from instructrl.models.decoding import decode

    was_training = lm.training
    lm.eval()  # dropout off while sampling
    enc = encode_prompts(tokenizer, prompt_texts, max_prompt_tokens, next(lm.parameters()).device)
    uniforms = None if seeds is None or temperature <= 0 else row_uniforms(seeds, max_new_tokens)
    out = decode(lm, enc["input_ids"], enc["attention_mask"], max_new_tokens, temperature=temperature,
                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, uniforms=uniforms,
                 finished=finished)
    lm.train(was_training)
    prompt_length = enc["input_ids"].shape[1]
    return finish_samples(tokenizer, out, enc["attention_mask"], prompt_length)


def prompt_rows(enc: dict[str, torch.Tensor]) -> list[list[int]]:
    """Each prompt's own token ids (padding dropped) from an ``encode_prompts`` batch."""
    return [row[mask.bool()].tolist() for row, mask in zip(enc["input_ids"], enc["attention_mask"])]


def samples_from_answers(tokenizer, enc: dict[str, torch.Tensor], answers: Sequence[Sequence[int]]) -> Samples:
    """Samples from answers drawn elsewhere (an inference engine): each answer's token ids, the end
    token included when the model chose it, after its prompt from the ``encode_prompts`` batch ``enc``."""
    prompts = enc["input_ids"]
    width = max(1, *(len(answer) for answer in answers))
    answer = torch.full((len(answers), width), tokenizer.pad_token_id, dtype=prompts.dtype, device=prompts.device)
    for row, ids in enumerate(answers):
        answer[row, :len(ids)] = torch.tensor(list(ids), dtype=prompts.dtype)
    return finish_samples(tokenizer, torch.cat([prompts, answer], dim=1), enc["attention_mask"], prompts.shape[1])


def finish_samples(tokenizer, sequences: torch.Tensor, prompt_mask: torch.Tensor, prompt_length: int) -> Samples:
    """Masks and texts for generated ``sequences`` [B, P + R]: an answer runs to its first end token."""
    answer = sequences[:, prompt_length:]
    is_end = answer == tokenizer.eos_token_id
    ended = is_end.any(dim=1)
    # tokens after the first end token are padding: cumulative count of end tokens strictly before t
    before = torch.cumsum(is_end.long(), dim=1) - is_end.long()
    response_mask = (before == 0).float()
    answer = torch.where(response_mask.bool(), answer, torch.full_like(answer, tokenizer.pad_token_id))
    sequences = torch.cat([sequences[:, :prompt_length], answer], dim=1)
    attention_mask = torch.cat([prompt_mask.long(), response_mask.long()], dim=1)
    # the reward model and the gold labeler score the text without surrounding whitespace
    texts = tuple(answer_end(tokenizer, row.tolist()).text.strip() for row in answer)
    return Samples(sequences, attention_mask, response_mask, ended, prompt_length, texts)


@torch.no_grad()
def reward_scores(reward_model, prompts: Sequence, texts: Sequence[str], ended: torch.Tensor,
                  no_eos_penalty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores for training, raw RM scores), both [B]: an answer cut off at the length limit never
    ended, so it loses ``no_eos_penalty`` (it would otherwise be scored as if complete)."""
    raw = torch.tensor(reward_model.score(list(prompts), [t or " " for t in texts]), dtype=torch.float32)
    penalty = (~ended.cpu()).float() * no_eos_penalty
    return raw - penalty, raw
