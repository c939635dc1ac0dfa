"""Which parameters a stage trains: a full fine-tune, frozen embeddings, or LoRA adapters (peft),
and how a tuned model is turned back into a plain Hugging Face model for the registry."""

from __future__ import annotations

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


def merged(model: torch.nn.Module) -> torch.nn.Module:
    """A plain transformers model: LoRA adapters merged into the weights."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


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
