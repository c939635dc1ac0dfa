"""A LoRA adapter with random, non-zero weights on a copy of a model, as tests need one that changes it."""

from __future__ import annotations

import copy

import torch


def random_lora(model, seed: int, targets=("q_proj", "v_proj"), scale: float = 0.5):
    """A peft LoRA model on a copy of ``model`` whose adapter weights (A and B) are drawn at random;
    peft starts B at zero, which would leave the model as it was."""
    from peft import LoraConfig, get_peft_model

    tuned = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, lora_alpha=32, target_modules=list(targets)))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in tuned.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * scale)
    return tuned
