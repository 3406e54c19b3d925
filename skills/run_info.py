"""Where an evaluation or training run happened, as every results JSON records it."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def device_info(**extra: Any) -> dict[str, Any]:
    """Machine, processor, OS, Python, CPU count, the 1-minute load average (the numbers of a shared
    machine depend on it), the model device (``"cpu"``: the skills' evaluations run their models on the
    CPU) and torch's version and CPU threads (``None`` when torch is not loaded); ``extra`` keys are added
    (e.g. ``head="numpy"``, ``torch_threads=1``)."""
    torch = sys.modules.get("torch")
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "model_device": "cpu",
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
    }
    info.update(extra)
    return info
