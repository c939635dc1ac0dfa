"""Which parameters a stage trains: a full fine-tune, frozen embeddings, or LoRA adapters (peft),
and how a tuned model is turned back into a plain Hugging Face model for the registry."""

from __future__ import annotations

from collections.abc import Callable

import torch

from instructrl.config import ModelConfig


def prepare_for_training(model: torch.nn.Module, config: ModelConfig) -> torch.nn.Module:
    """Apply LoRA / frozen embeddings / gradient checkpointing as configured."""
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)  # tied heads freeze with it
    if config.lora.r > 0:
        from peft import LoraConfig as PeftLoraConfig
        from peft import get_peft_model

        model = get_peft_model(model, PeftLoraConfig(
            r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
            target_modules=list(config.lora.target_modules), bias="none",
        ))
    return model


def trainable_in_float32(model: torch.nn.Module) -> torch.nn.Module:
    """Trainable parameters in float32 whatever dtype the model was loaded in: a LoRA run may keep its
    frozen base in bfloat16, but what the optimiser updates (adapters, heads) stays full precision."""
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
    return model


def merged(model: torch.nn.Module, reload_base: Callable[[], torch.nn.Module] | None = None) -> torch.nn.Module:
    """A plain transformers model: LoRA adapters merged into the weights.

    With a 16-bit frozen base, merging in place would round the learned change to bf16 along with the
    weights; ``reload_base`` (the untuned model, built in float32) receives the trained parameters instead,
    so the released weights are the original ones plus the full-precision change."""
    if not hasattr(model, "merge_and_unload"):
        return model
    if reload_base is None or all(p.dtype == torch.float32 for p in model.parameters()):
        return model.merge_and_unload()
    from peft import get_peft_model

    fresh = get_peft_model(reload_base(), model.peft_config["default"])
    trained = {name: param.detach().float() for name, param in model.named_parameters() if param.requires_grad}
    outcome = fresh.load_state_dict(trained, strict=False)
    if outcome.unexpected_keys:
        raise RuntimeError(f"trained parameters not found in the reloaded base: {outcome.unexpected_keys[:3]}")
    return fresh.merge_and_unload()


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; tied weights are counted once."""
    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total
