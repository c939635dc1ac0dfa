"""The recipe's maths as pure functions of tensors. Imports only torch, so every loss can be
checked against values worked out by hand (tests/unit/test_rl_math.py).

Data parallelism: PPO's processes each hold some rows of one global batch. Its token means take
``total``, the global batch's token count, so that the processes' results sum to the mean over the
whole batch (and the gradients, which DDP and FSDP average, to its gradient once scaled by the process
count); whitening and the explained variance take ``reduce``, a function that sums a tensor over the
processes (an all-reduce), for their global means and variances. Without either, a process's rows
are the whole batch."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Reduce = Callable[[torch.Tensor], torch.Tensor]  # sums a tensor over the data-parallel processes


def masked_sum(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    return (values * mask).sum() if dim is None else (values * mask).sum(dim)


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None,
                total: torch.Tensor | float | None = None) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (over everything, or along ``dim``). ``total``: the count
    to divide by instead of the mask's own (the global batch's, under data parallelism)."""
    mask = mask.to(values.dtype)
    count = mask.sum() if dim is None else mask.sum(dim)
    if total is not None:
        count = torch.as_tensor(total, dtype=values.dtype, device=values.device)
    return masked_sum(values, mask, dim) / count.clamp(min=1)


def summed(reduce: Reduce | None, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The scalars ``values`` summed over the processes by ``reduce`` in one call (as they are without;
    the sums carry no gradient)."""
    stacked = torch.stack([torch.as_tensor(v).float().reshape(()) for v in values])
    return tuple((stacked if reduce is None else reduce(stacked.detach())).unbind())


def global_masked_mean(values: torch.Tensor, mask: torch.Tensor, reduce: Reduce | None = None) -> torch.Tensor:
    """The masked mean over every process's entries (``masked_mean`` in one process)."""
    mask = mask.to(values.dtype)
    total, count = summed(reduce, masked_sum(values, mask), mask.sum())
    return (total / count.clamp(min=1)).to(values.dtype)


def kwise_ranking_loss(rewards: torch.Tensor, ranks: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's reward-model loss (Ouyang et al. 2022, eq. 1), one value per prompt.

    rewards: [B, K] scalar rewards of K answers per prompt; ranks: [B, K] (0 = best, equal = tie);
    valid: [B, K] bool, False for padding when prompts have fewer than K answers.

    loss_b = -1/P_b * sum over pairs (i, j) with rank_i < rank_j of log sigmoid(r_i - r_j),
    where P_b counts those pairs: C(K, 2) without ties (the paper's normaliser); tied pairs carry no
    preference and are dropped. Every pair of a prompt sits in one batch element, so a prompt counts
    once however large K is. Returns [B]; a prompt with no ordered pair gives 0.
    """
    if valid is None:
        valid = torch.ones_like(ranks, dtype=torch.bool)
    both_valid = valid[:, :, None] & valid[:, None, :]
    better = (ranks[:, :, None] < ranks[:, None, :]) & both_valid  # [B, K, K]: answer i beats answer j
    margins = rewards[:, :, None] - rewards[:, None, :]
    pair_losses = -F.logsigmoid(margins) * better
    return pair_losses.sum(dim=(1, 2)) / better.sum(dim=(1, 2)).clamp(min=1)


def ranking_accuracy(rewards: torch.Tensor, ranks: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[int, int]:
    """(pairs ordered correctly, ordered pairs) over the batch; an equal reward counts as wrong."""
    if valid is None:
        valid = torch.ones_like(ranks, dtype=torch.bool)
    better = (ranks[:, :, None] < ranks[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    correct = (rewards[:, :, None] > rewards[:, None, :]) & better
    return int(correct.sum()), int(better.sum())


# ---- PPO (Ouyang et al. 2022, sec. 3.5 "RL"; Schulman et al. 2017) ----------------------------
# Shapes: B rollouts, T response tokens; ``mask`` [B, T] is 1 on answer tokens (right padded).


def masked_var(values: torch.Tensor, mask: torch.Tensor, unbiased: bool = True,
               reduce: Reduce | None = None) -> torch.Tensor:
    """Variance of ``values`` where ``mask`` is 1 (Bessel-corrected unless ``unbiased=False``), over
    every process's entries when ``reduce`` is given: the global mean first, then the squared deviations."""
    mask = mask.to(values.dtype)
    mean = global_masked_mean(values, mask, reduce)
    squares, count = summed(reduce, masked_sum((values - mean) ** 2, mask), mask.sum())
    var = squares / count.clamp(min=1)
    if unbiased:
        var = var * count / (count - 1).clamp(min=1)
    return var.to(values.dtype)


def whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8,
           reduce: Reduce | None = None) -> torch.Tensor:
    """(values - mean) / std over the masked entries (of every process's rows, with ``reduce``);
    ``shift_mean=False`` keeps the mean (rewards)."""
    mean, var = global_masked_mean(values, mask, reduce), masked_var(values, mask, reduce=reduce)
    out = (values - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * mask.to(values.dtype)


def kl_penalised_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
                         mask: torch.Tensor, kl_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: -β · KL_t everywhere, plus the reward-model score at the last answer token.

    The paper's objective (eq. 2) is r(x, y) - β log(π_RL(y|x) / π_SFT(y|x)); the log-ratio is spread
    over the tokens with the k1 estimator KL_t = log π_RL(y_t) - log π_SFT(y_t) (unbiased; a sample can be
    negative). scores: [B]; logprobs, ref_logprobs, mask: [B, T]. Returns (rewards [B, T], kl [B, T])."""
    mask = mask.to(logprobs.dtype)
    kl = (logprobs - ref_logprobs) * mask
    rewards = -kl_coef * kl
    last = (mask.sum(dim=1).long() - 1).clamp(min=0)  # answers are right padded: the final real token
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores.to(rewards.dtype) * (mask.sum(dim=1) > 0)
    return rewards, kl


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016) on right-padded answers.

    δ_t = r_t + γ V_{t+1} - V_t (V past the last token is 0), A_t = δ_t + γλ A_{t+1}, returns = A + V.
    rewards, values, mask: [B, T] -> (advantages [B, T], returns [B, T]), zero on padding."""
    mask = mask.to(values.dtype)
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        next_value = values[:, t + 1] if t + 1 < values.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                mask: torch.Tensor, clip: float = 0.2,
                total: torch.Tensor | float | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate (Schulman et al. 2017, eq. 7), as a loss to minimise, averaged over tokens
    (sums divided by ``total`` when given, the global batch's token count).

    loss = mean_t max(-A_t ρ_t, -A_t clip(ρ_t, 1-ε, 1+ε)) with ρ_t = π(y_t) / π_old(y_t).
    Also returns the clipped fraction and approx-KL(π_old ‖ π) = mean((ρ - 1) - log ρ) (k3, ≥ 0)."""
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask, total=total)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped > unclipped).to(logprobs.dtype), mask, total=total)
        approx_kl = masked_mean((ratio - 1.0) - log_ratio, mask, total=total)
    return loss, {"clip_fraction": clip_fraction, "approx_kl": approx_kl}


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip: float = 0.2, total: torch.Tensor | float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped value loss: ½ mean_t max((V - R)², (clip(V, V_old ± ε) - R)²); and the clipped fraction
    (sums divided by ``total`` when given): the tokens whose clipped term is the larger because the clip
    binds (|V - V_old| > ε). Inside the range V_old + (V - V_old) is V but for rounding, which must not
    count: at the first minibatch V = V_old up to it."""
    change = values - old_values
    clipped_values = old_values + torch.clamp(change, -clip, clip)
    unclipped_sq, clipped_sq = (values - returns) ** 2, (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped_sq, clipped_sq), mask, total=total)
    with torch.no_grad():
        binds = (change.abs() > clip) & (clipped_sq > unclipped_sq)
        clip_fraction = masked_mean(binds.to(values.dtype), mask, total=total)
    return loss, clip_fraction


def ptx_loss(token_logprobs: torch.Tensor, mask: torch.Tensor, total: torch.Tensor | float | None = None) -> torch.Tensor:
    """The pretraining term of PPO-ptx (eq. 2, γ · E_pretrain[log π_RL(x)]) as a loss: the mean negative
    log-likelihood of the pretraining tokens (their sum divided by ``total`` when given). token_logprobs,
    mask: [N, L]."""
    return -masked_mean(token_logprobs, mask, total=total)


def ppo_objective(policy: torch.Tensor, value: torch.Tensor, ptx: torch.Tensor | None, value_coef: float,
                  ptx_coef: float) -> torch.Tensor:
    """The loss of one optimiser step: policy + c_v · value (+ γ · ptx when a ptx batch is given)."""
    total = policy + value_coef * value
    return total if ptx is None else total + ptx_coef * ptx


def entropy(logprobs: torch.Tensor) -> torch.Tensor:
    """Entropy of distributions given as log-probabilities along the last axis: [..., V] -> [...]."""
    return -(logprobs.exp() * logprobs).sum(-1)


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
                       reduce: Reduce | None = None) -> torch.Tensor:
    """1 - Var(R - V) / Var(R) over the masked tokens (of every process, with ``reduce``): 1 = perfect
    critic, 0 = predicts the mean."""
    var_returns = masked_var(returns, mask, unbiased=False, reduce=reduce)
    return 1.0 - masked_var(returns - values, mask, unbiased=False, reduce=reduce) / var_returns.clamp(min=1e-8)


def adaptive_kl_coef(coef: float, kl: float, target: float, horizon: int, batch: int) -> float:
    """The adaptive KL controller of Ziegler et al. 2019: β ← β (1 + clip(KL/target - 1, ±0.2) · n / horizon)."""
    error = max(-0.2, min(0.2, kl / target - 1.0))
    return coef * (1.0 + error * batch / horizon)


def ema_decay(step: int, decay: float) -> float:
    """The EMA decay at update ``step`` (0-based): ``decay``, warmed up as min(decay, (1 + t) / (10 + t))
    so that a short run's average is not dominated by the starting weights."""
    return min(decay, (1.0 + step) / (10.0 + step))


def ema_update(average: torch.Tensor, value: torch.Tensor, decay: float) -> None:
    """In place: average ← decay · average + (1 - decay) · value."""
    average.mul_(decay).add_(value.detach().to(average.dtype), alpha=1.0 - decay)
