"""The model code of PPO: the actor-critic module whose single forward pass gives log-probs,
entropies, values (and the ptx language-modelling term), the frozen reference's log-probs, the merged
sampling copy the policy samples from, and ``build_models``, which puts the stage's models together.

Every forward pass here reads rows laid out as ``train.rollout`` describes: ``[left-padded prompt |
answer, right-padded]``, the answers starting at column P.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from instructrl.errors import ConfigError
from instructrl.models.loading import load_causal_lm, load_tokenizer, torch_dtype
from train.remote_rollout import RemoteSampler
from train.rl_math import entropy
from train.rollout import Samples
from train.tuning import prepare_for_training, trainable_in_float32

if TYPE_CHECKING:
    from instructrl.checkpoints import Registry
    from train.ppo import PPOConfig


# ---- the actor-critic --------------------------------------------------------------------------


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


# ---- the sampling copy -------------------------------------------------------------------------


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


# ---- the stage's models ------------------------------------------------------------------------


@dataclass
class Models:
    actor_critic: ActorCritic
    ref: nn.Module | None  # None: the policy with LoRA adapters switched off is the reference
    reward: Any  # instructrl.models.reward.RewardModel, frozen
    tokenizer: Any
    sampler: SamplingCopy | None = None  # None: step 1 samples from the policy itself
    remote: RemoteSampler | None = None  # step 1 on an inference engine (generation.backend remote)


def build_models(config: PPOConfig, registry: Registry | None = None) -> Models:
    """The policy (and its reference), the frozen reward model and the critic; checkpoint names are
    looked up in ``registry`` (default: the configured one)."""
    from instructrl.models.reward import RewardModel

    tokenizer = load_tokenizer(config.model.name, registry)
    sft = load_causal_lm(config.model.name, config.model.dtype, registry=registry)  # no dropout in RL (paper)
    lora = config.model.lora.r > 0
    ref = None if lora else _frozen(copy.deepcopy(sft))
    policy = prepare_for_training(sft, config.model)
    reward = RewardModel.load(config.ppo.reward_model, config.model.dtype, registry)
    _frozen(reward)
    if config.ppo.value_init == "rm":
        if len(reward.tokenizer) != len(tokenizer) or reward.tokenizer.pad_token_id != tokenizer.pad_token_id:
            raise ConfigError(f"reward model {config.ppo.reward_model!r} has a different tokenizer from the policy, "
                              "so it cannot start the critic", "set ppo.value_init=shared")
        critic_lm = prepare_for_training(copy.deepcopy(reward.model).requires_grad_(True), config.model)
        head = core_model(critic_lm).score
        head.requires_grad_(True)  # LoRA freezes everything else; the value head always trains
        critic = ValueHead(core_model(critic_lm).base_model, head)
    else:
        hidden = core_model(policy).config.hidden_size
        head = nn.Linear(hidden, 1)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        critic = ValueHead(None, head)
    # a LoRA run may keep the frozen weights in bfloat16 (model.dtype); what trains stays float32
    actor_critic = trainable_in_float32(ActorCritic(policy, critic, config.ppo.temperature))
    return Models(actor_critic, ref, reward, tokenizer, sampling_copy(actor_critic.policy, config.ppo.sampling_copy))


def sampling_copy(policy: nn.Module, setting: str) -> SamplingCopy | None:
    """The merged copy step 1 samples from, or None to sample from the policy (see ``PPOParams.sampling_copy``)."""
    if setting == "off":
        return None
    dtype = torch_dtype(setting)
    lora = hasattr(policy, "merge_and_unload")
    if setting == "auto" and not lora and dtype == next(policy.parameters()).dtype:
        return None  # a full fine-tune already samples in that dtype: a copy would only cost memory
    return SamplingCopy(policy, dtype)


def sampling_model(models: Models, policy: nn.Module) -> nn.Module:
    """What draws answers: the sampling copy, refreshed to the policy's current weights, or the policy."""
    return models.sampler.refresh() if models.sampler is not None else policy


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    module.requires_grad_(False)
    return module
