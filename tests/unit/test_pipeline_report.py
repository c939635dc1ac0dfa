"""The pipeline report's numbers and its "what this run shows" sentences, from hand-made numbers."""

from __future__ import annotations

import pytest

from instructrl.pipeline_report import Estimate, alignment_tax, curve_summary, findings, win_rates


def rates(**values: tuple[float, float, float]) -> dict:
    return {label.replace("_", "-"): {"raw": Estimate(*v, n=40)} for label, v in values.items()}


def test_win_rates_read_raw_and_length_controlled_rows_by_label():
    results = {"sections": {"winrate": {"models": [
        {"name": "ppo-sft-x", "win_rate": 0.7, "ci": [0.6, 0.8], "n": 40,
         "length_controlled": {"win_rate": 0.55, "ci": [0.45, 0.65], "n": 40, "mean_length": 60.0,
                               "baseline_mean_length": 30.0}}]}}}
    got = win_rates(results, {"ppo-sft-x": "ppo"})
    assert got["ppo"]["raw"] == Estimate(0.7, 0.6, 0.8, 40) and got["ppo"]["lc"] == Estimate(0.55, 0.45, 0.65, 40)
    assert got["ppo"]["mean_length"] == 60.0


def test_findings_say_which_cis_sit_where():
    numbers = {"baseline": "sft", "win_rates": rates(base=(0.2, 0.1, 0.3), base_prompted=(0.45, 0.35, 0.55), sft=(0.5, 0.5, 0.5),
                                                      ppo=(0.7, 0.6, 0.8), ppo_ptx=(0.55, 0.45, 0.65))}
    said = findings(numbers)
    assert "base loses to sft: its whole 95 % CI lies below 0.5 (win rate 0.200 [0.100, 0.300], n = 40)." in said
    assert any(s.startswith("base-prompted is not distinguishable from sft") for s in said)
    assert any(s.startswith("ppo beats sft: its whole 95 % CI lies above 0.5") for s in said)
    # sft (0.5 against itself) > base-prompted (0.45, CI up to 0.55) > base: holds, but one pair overlaps
    assert ("The paper's ordering sft > base-prompted > base holds by the point estimates, but the CIs of "
            "sft and base-prompted overlap.") in said
    assert not any("ppo > sft" in s for s in said)  # the same statement as ppo's win rate against sft
    assert not any(s.startswith("sft ") for s in said)  # nor the baseline against itself


def test_findings_report_a_broken_ordering_and_a_length_hack():
    numbers = {"baseline": "sft", "win_rates": rates(base=(0.4, 0.3, 0.45), base_prompted=(0.3, 0.2, 0.35))}
    numbers["win_rates"]["ppo"] = {"raw": Estimate(0.7, 0.6, 0.8, 40), "lc": Estimate(0.5, 0.4, 0.6, 40),
                                   "mean_length": 90.0, "baseline_mean_length": 30.0}
    said = findings(numbers)
    assert "The paper's ordering sft > base-prompted > base does not hold here: base-prompted ≤ base." in said
    assert any(s.startswith("At equal length ppo's advantage is not established: length-controlled win rate "
                            "0.500 [0.400, 0.600] (mean answer length 90 vs the baseline's 30 characters)") for s in said)
    numbers["win_rates"]["ppo"]["lc"] = Estimate(0.6, 0.55, 0.65, 40)
    assert any(s.startswith("ppo's advantage holds at equal length") for s in findings(numbers))


def test_alignment_tax_by_hand():
    # three documents of 2, 3 and 5 tokens; SFT loses 1 nat a token on each, PPO 2, PPO-ptx 1.5
    sft = [[2.0, 2], [3.0, 3], [5.0, 5]]
    ppo = [[4.0, 2], [6.0, 3], [10.0, 5]]
    ptx = [[3.0, 2], [4.5, 3], [7.5, 5]]
    tax = alignment_tax({"ppo": {"sft": sft, "policy": ppo}, "ppo-ptx": {"sft": sft, "policy": ptx}})
    assert tax["loss"]["sft"] == Estimate(1.0, 1.0, 1.0, 3)  # the same ratio in every resample
    assert tax["loss"]["ppo"].value == 2.0 and tax["loss"]["ppo-ptx"].value == 1.5
    diff = tax["ptx_minus_ppo"]
    assert diff.value == pytest.approx(-0.5) and diff.low == pytest.approx(-0.5) and diff.high == pytest.approx(-0.5)
    said = findings({"tax": tax})
    assert ("ppo's held-out pretraining loss is 2.000 [2.000, 2.000] against SFT's 1.000 [1.000, 1.000]: a tax of "
            "+1.000 nats per token.") in said
    assert ("PPO-ptx's pretraining loss is below PPO's, and the paired CI of the difference excludes 0 "
            "(difference -0.500 [-0.500, -0.500], n = 3 documents).") in said
    assert alignment_tax({}) == {"loss": {}}


def test_the_curve_sentence_names_over_optimisation_only_when_gold_falls_as_the_proxy_rises():
    points = [{"step": 0, "kl": 0.0, "sqrt_kl": 0.0, "proxy": 0.1, "gold": 0.5},
              {"step": 10, "kl": 4.0, "sqrt_kl": 2.0, "proxy": 0.9, "gold": 0.3}]
    summary = curve_summary(points)
    assert summary == {"proxy_start": 0.1, "proxy_end": 0.9, "gold_start": 0.5, "gold_end": 0.3, "kl_end": 4.0}
    [sentence] = findings({"curves": {"ppo": summary}})
    assert sentence == ("During ppo the reward model's score of held-out answers went from 0.100 to 0.900 and the "
                        "gold score from 0.500 to 0.300 — the proxy rose while the gold score fell: "
                        "over-optimisation, at a final KL of 4.00 nats.")
    points[-1]["gold"] = 0.7
    assert "over-optimisation" not in findings({"curves": {"ppo": curve_summary(points)}})[0]


def test_the_reward_model_sentence():
    assert findings({"rm": Estimate(0.62, 0.55, 0.69, 200)}) == [
        "The reward model orders held-out pairs correctly 0.620 [0.550, 0.690] of the time (n = 200 pairs): "
        "above chance."]
    assert findings({"rm": Estimate(0.52, 0.45, 0.59, 200)})[0].endswith("not distinguishable from chance.")
    assert findings({"rm": Estimate(0.37, 0.27, 0.48, 87)})[0].endswith("below chance: it has learned the labels' opposite.")
