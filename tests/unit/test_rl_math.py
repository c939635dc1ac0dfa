"""The recipe's maths against values worked out by hand (each expected number is derived in a comment)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from train import rl_math as m


def close(actual, expected, tol: float = 1e-5) -> None:
    assert torch.allclose(torch.as_tensor(actual, dtype=torch.float32),
                          torch.as_tensor(expected, dtype=torch.float32), atol=tol), (actual, expected)


def test_masked_mean_and_var():
    values, mask = torch.tensor([1.0, 2.0, 3.0, 100.0]), torch.tensor([1, 1, 1, 0])
    close(m.masked_mean(values, mask), 2.0)  # (1 + 2 + 3) / 3
    close(m.masked_var(values, mask, unbiased=False), 2 / 3)  # (1 + 0 + 1) / 3
    close(m.masked_var(values, mask), 1.0)  # (1 + 0 + 1) / (3 - 1)
    close(m.masked_mean(torch.tensor([[1.0, 3.0], [5.0, 7.0]]), torch.tensor([[1, 0], [1, 1]]), dim=1), [1.0, 6.0])


def test_whiten():
    values, mask = torch.tensor([[1.0, 2.0, 3.0, 50.0]]), torch.tensor([[1, 1, 1, 0]])
    close(m.whiten(values, mask), [[-1.0, 0.0, 1.0, 0.0]])  # mean 2, unbiased std 1, padding zeroed
    close(m.whiten(values, mask, shift_mean=False), [[1.0, 2.0, 3.0, 0.0]])  # std 1 keeps values, mean kept


def test_kl_penalised_rewards():
    scores = torch.tensor([1.0, 2.0])
    logprobs = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, 0.0]])
    ref = torch.tensor([[-1.5, -2.0, -2.0], [-2.0, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    rewards, kl = m.kl_penalised_rewards(scores, logprobs, ref, mask, kl_coef=0.1)
    close(kl, [[0.5, 0.0, -1.0], [1.0, 0.0, 0.0]])  # log π - log π_ref; a k1 sample may be negative
    # row 0: -0.1 * [0.5, 0, -1] + score 1 at the last token; row 1: its last real token is t = 1
    close(rewards, [[-0.05, 0.0, 1.1], [-0.1, 2.0, 0.0]])


def test_gae_full_and_padded():
    # γ = 1, λ = 0.5:  δ2 = 1 - 0.7 = 0.3;  δ1 = 0.7 - 0.6 = 0.1;  δ0 = 0.6 - 0.5 = 0.1
    # A2 = 0.3;  A1 = 0.1 + 0.5 * 0.3 = 0.25;  A0 = 0.1 + 0.5 * 0.25 = 0.225;  returns = A + V
    adv, ret = m.gae(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.6, 0.7]]), torch.ones(1, 3), 1.0, 0.5)
    close(adv, [[0.225, 0.25, 0.3]])
    close(ret, [[0.725, 0.85, 1.0]])
    # padding after t = 1 is ignored (its reward 5 and value 9 do not leak): with γ = λ = 1 the return
    # is the sum of later rewards, 1, and A0 = 1 - 0.5, A1 = 1 - 0.6
    adv, ret = m.gae(torch.tensor([[0.0, 1.0, 5.0]]), torch.tensor([[0.5, 0.6, 9.0]]), torch.tensor([[1, 1, 0]]), 1.0, 1.0)
    close(adv, [[0.5, 0.4, 0.0]])
    close(ret, [[1.0, 1.0, 0.0]])
    # γ = 0.5, λ = 1: A1 = 1 - 0.6 = 0.4; A0 = (0 + 0.5 * 0.6 - 0.5) + 0.5 * 0.4 = 0.0
    adv, _ = m.gae(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.6]]), torch.ones(1, 2), 0.5, 1.0)
    close(adv, [[0.0, 0.4]])


def test_policy_loss_clips():
    ratios = torch.tensor([[1.5, 0.5, 1.1]])
    logprobs = ratios.log().requires_grad_(True)
    advantages = torch.tensor([[1.0, 1.0, -2.0]])
    loss, stats = m.policy_loss(logprobs, torch.zeros(1, 3), advantages, torch.ones(1, 3), clip=0.2)
    # t0: max(-1.5, -1.2) = -1.2 (clipped); t1: max(-0.5, -0.8) = -0.5; t2: max(2.2, 2.2) = 2.2
    close(loss, (-1.2 - 0.5 + 2.2) / 3)
    close(stats["clip_fraction"], 1 / 3)
    # (ρ - 1) - log ρ per token, averaged
    expected_kl = sum((r - 1) - math.log(r) for r in (1.5, 0.5, 1.1)) / 3
    close(stats["approx_kl"], expected_kl)
    loss.backward()
    # clipped token: no gradient; others: -A ρ / 3
    close(logprobs.grad, [[0.0, -0.5 / 3, 2 * 1.1 / 3]])


def test_policy_loss_masks_padding():
    loss, _ = m.policy_loss(torch.tensor([[0.0, 5.0]]), torch.zeros(1, 2), torch.tensor([[2.0, 7.0]]),
                            torch.tensor([[1, 0]]))
    close(loss, -2.0)  # ratio 1 on the one real token: -A


def test_value_loss_clips():
    values, old, returns = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]]), torch.tensor([[2.0, 0.0]])
    loss, frac = m.value_loss(values, old, returns, torch.ones(1, 2), clip=0.2)
    # t0: clipped V = 0.7: max((1-2)^2, (0.7-2)^2) = 1.69; t1: clipped V = 0.3: max(0, 0.09) = 0.09
    close(loss, 0.5 * (1.69 + 0.09) / 2)
    close(frac, 1.0)
    # inside the clip range the clipped value is V itself, whatever the rounding of V_old + (V - V_old)
    values, old = torch.tensor([[0.1, 0.3]]), torch.tensor([[0.3, 0.1]])
    returns = torch.tensor([[0.2, -1.0]])
    rounded = old + (values - old)  # 0.1 comes back as 0.099999994: farther from its return 0.2 than V is
    assert ((rounded - returns) ** 2 > (values - returns) ** 2).tolist() == [[True, False]]
    _, frac = m.value_loss(values, old, returns, torch.ones(1, 2), clip=0.25)
    close(frac, 0.0)


def test_ptx_loss_and_objective():
    logprobs, mask = torch.tensor([[-1.0, -2.0], [-3.0, -9.0]]), torch.tensor([[1, 1], [1, 0]])
    close(m.ptx_loss(logprobs, mask), 2.0)  # (1 + 2 + 3) / 3
    pg, vf, ptx = torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)
    close(m.ppo_objective(pg, vf, None, 0.5, 27.8), 2.0)  # 1 + 0.5 * 2
    close(m.ppo_objective(pg, vf, ptx, 0.5, 27.8), 2.0 + 27.8 * 3)


def test_ptx_loss_matches_cross_entropy():
    torch.manual_seed(0)
    logits, targets = torch.randn(2, 4, 7), torch.randint(0, 7, (2, 4))
    token_logprobs = torch.log_softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1)
    close(m.ptx_loss(token_logprobs, torch.ones(2, 4)), F.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1)))


def test_entropy_and_explained_variance():
    close(m.entropy(torch.full((2, 4), math.log(0.25))), [math.log(4)] * 2)  # uniform over 4
    close(m.entropy(torch.log_softmax(torch.tensor([[0.0, -1e4]]), -1)), [0.0], tol=1e-4)  # one certain outcome
    close(m.entropy(torch.log(torch.tensor([[0.5, 0.25, 0.25]]))), [1.5 * math.log(2)])  # ½ln2 + 2·¼ln4
    returns, mask = torch.tensor([[1.0, 2.0, 3.0]]), torch.ones(1, 3)
    close(m.explained_variance(returns, returns, mask), 1.0)
    close(m.explained_variance(torch.full((1, 3), 2.0), returns, mask), 0.0)  # predicting the mean


def _two_processes(fn, *halves):
    """fn(half, reduce) in two threads that stand for two processes: ``reduce`` sums a tensor over both,
    as an all-reduce would (each waits for the other's value)."""
    import threading

    barrier, slots = threading.Barrier(2), [None, None]

    def run(rank, results):
        def reduce(tensor):
            slots[rank] = tensor.clone()
            barrier.wait()
            total = slots[0] + slots[1]
            barrier.wait()  # both have read before either writes its next value
            return total

        results[rank] = fn(halves[rank], reduce)

    results = [None, None]
    threads = [threading.Thread(target=run, args=(rank, results)) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_global_statistics_over_processes_equal_one_process():
    # two processes hold rows {0, 2} and {1, 3} of one batch, with different token counts (5 and 2)
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0], [-1.0, 5.0, 0.0], [2.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 0, 0]])
    returns = values * 0.5 + 1.0
    halves = [(values[r::2], mask[r::2], returns[r::2]) for r in (0, 1)]
    whole = m.whiten(values, mask)
    white = _two_processes(lambda h, reduce: m.whiten(h[0], h[1], reduce=reduce), *halves)
    close(white[0], whole[0::2])
    close(white[1], whole[1::2])
    both = _two_processes(lambda h, reduce: m.explained_variance(h[2], h[0], h[1], reduce=reduce), *halves)
    close(both[0], m.explained_variance(returns, values, mask))
    assert both[0] == both[1]
    # token means: each process's sum over the global count; their sum is the whole batch's mean
    count = float(mask.sum())
    parts = [m.masked_mean(h[0], h[1], total=count) for h in halves]
    close(parts[0] + parts[1], m.masked_mean(values, mask))
    losses = [m.policy_loss(h[0] * 0.1, torch.zeros_like(h[0]), h[2], h[1], total=count)[0] for h in halves]
    close(losses[0] + losses[1], m.policy_loss(values * 0.1, torch.zeros_like(values), returns, mask)[0])
    values_loss = [m.value_loss(h[0], h[2], h[2] * 2, h[1], total=count)[0] for h in halves]
    close(values_loss[0] + values_loss[1], m.value_loss(values, returns, returns * 2, mask)[0])
    close(m.ptx_loss(values, mask, total=2 * count), m.ptx_loss(values, mask) / 2)
    assert m.summed(None, torch.tensor(2.0), 3) == (torch.tensor(2.0), torch.tensor(3.0))


def test_adaptive_kl_and_ema():
    # KL twice the target: error clipped to 0.2, step 8/100 -> β (1 + 0.016)
    assert m.adaptive_kl_coef(0.1, kl=12.0, target=6.0, horizon=100, batch=8) == pytest.approx(0.1016)
    # KL 10 % under: β (1 - 0.1 * 0.08)
    assert m.adaptive_kl_coef(0.1, kl=5.4, target=6.0, horizon=100, batch=8) == pytest.approx(0.0992)
    assert m.ema_decay(0, 0.992) == pytest.approx(0.1)  # (1 + 0) / (10 + 0)
    assert m.ema_decay(90, 0.992) == pytest.approx(0.91)  # 91 / 100
    assert m.ema_decay(10_000, 0.992) == 0.992
    average = torch.tensor([1.0])
    m.ema_update(average, torch.tensor([3.0]), 0.75)
    close(average, [1.5])  # 0.75 * 1 + 0.25 * 3


def test_kwise_ranking_loss_k2_is_pairwise():
    rewards, ranks = torch.tensor([[2.0, 0.5]]), torch.tensor([[0, 1]])
    close(m.kwise_ranking_loss(rewards, ranks), -F.logsigmoid(torch.tensor([1.5])))
    assert m.ranking_accuracy(rewards, ranks) == (1, 1)
