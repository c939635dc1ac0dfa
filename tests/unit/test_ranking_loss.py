"""The paper's K-wise reward-model loss (Ouyang et al. 2022, eq. 1) against values worked out by hand.

-log sigmoid(m) = log(1 + e^-m): log(1+e^-1) = 0.3132617, log(1+e^-2) = 0.1269280, log 2 = 0.6931472,
log(1+e^1) = 1.3132617, log(1+e^2) = 2.1269280, log(1+e^3) = 3.0485874."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from train.rl_math import kwise_ranking_loss, ranking_accuracy


def nll(margin: float) -> float:
    return math.log1p(math.exp(-margin))


def test_k2_equals_the_pairwise_logistic_loss():
    torch.manual_seed(0)
    chosen, rejected = torch.randn(16), torch.randn(16)
    rewards = torch.stack([chosen, rejected], dim=1)
    ranks = torch.tensor([[0, 1]]).repeat(16, 1)
    pairwise = F.binary_cross_entropy_with_logits(chosen - rejected, torch.ones(16), reduction="none")
    torch.testing.assert_close(kwise_ranking_loss(rewards, ranks), pairwise)
    # the better answer may sit in either column
    swapped = kwise_ranking_loss(rewards.flip(1), ranks.flip(1))
    torch.testing.assert_close(swapped, pairwise)
    assert kwise_ranking_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0, 1]])).item() == pytest.approx(0.3132617, abs=1e-6)


def test_k3_by_hand():
    # pairs (0,1) margin 1, (0,2) margin 2, (1,2) margin 1; C(3,2) = 3
    loss = kwise_ranking_loss(torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[0, 1, 2]]))
    expected = (0.3132617 + 0.1269280 + 0.3132617) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx((2 * nll(1) + nll(2)) / 3, abs=1e-6)


def test_k4_by_hand_with_every_pair_misordered():
    # rewards rise while ranks say the first is best: margins -1 (3 pairs), -2 (2 pairs), -3 (1 pair); C(4,2) = 6
    loss = kwise_ranking_loss(torch.tensor([[0.0, 1.0, 2.0, 3.0]]), torch.tensor([[0, 1, 2, 3]]))
    expected = (3 * 1.3132617 + 2 * 2.1269280 + 3.0485874) / 6
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert loss.item() == pytest.approx(1.8737047, abs=1e-6)


def test_k4_unordered_columns_by_hand():
    # ranks [2, 0, 3, 1] with rewards [0, 3, -1, 1]: pairs (better, worse) and margins
    # (1,0) 3, (1,2) 4, (1,3) 2, (3,0) 1, (3,2) 2, (0,2) 1
    loss = kwise_ranking_loss(torch.tensor([[0.0, 3.0, -1.0, 1.0]]), torch.tensor([[2, 0, 3, 1]]))
    expected = (nll(3) + nll(4) + nll(2) + nll(1) + nll(2) + nll(1)) / 6
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_ties_are_dropped_from_pairs_and_normaliser():
    # ranks [0, 0, 1]: the tied pair (0,1) carries no preference; pairs (0,2) margin 1, (1,2) margin 0
    loss = kwise_ranking_loss(torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0, 0, 1]]))
    assert loss.item() == pytest.approx((0.3132617 + 0.6931472) / 2, abs=1e-6)


def test_padding_is_ignored_and_each_prompt_counts_once():
    rewards = torch.tensor([[2.0, 1.0, 0.0], [1.0, 0.0, 123.0]])
    ranks = torch.tensor([[0, 1, 2], [0, 1, 0]])
    valid = torch.tensor([[True, True, True], [True, True, False]])
    loss = kwise_ranking_loss(rewards, ranks, valid)
    assert loss.shape == (2,)
    assert loss[0].item() == pytest.approx((2 * nll(1) + nll(2)) / 3, abs=1e-6)
    assert loss[1].item() == pytest.approx(nll(1), abs=1e-6)  # the padded 123.0 changes nothing


def test_gradient_of_k2_by_hand():
    # d/dr0 log(1 + e^-(r0 - r1)) = -sigmoid(-(r0 - r1)) = -1/(1+e^1) at margin 1
    rewards = torch.tensor([[1.0, 0.0]], requires_grad=True)
    kwise_ranking_loss(rewards, torch.tensor([[0, 1]])).sum().backward()
    g = 1 / (1 + math.e)
    torch.testing.assert_close(rewards.grad, torch.tensor([[-g, g]]))


def test_ranking_accuracy_by_hand():
    rewards = torch.tensor([[0.0, 3.0, -1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    ranks = torch.tensor([[0, 1, 2, 3], [0, 1, 1, 0]])
    valid = torch.tensor([[True] * 4, [True, True, True, False]])
    # row 0 (better, worse): (0,1) 0>3 no, (0,2) 0>-1 yes, (0,3) 0>1 no, (1,2) 3>-1 yes, (1,3) 3>1 yes,
    # (2,3) -1>1 no -> 3 of 6; row 1 (answer 3 is padding): (0,1) equal rewards count as wrong,
    # (0,2) 1>0 yes -> 1 of 2
    assert ranking_accuracy(rewards, ranks, valid) == (4, 8)
