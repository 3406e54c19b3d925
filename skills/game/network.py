"""A small policy-value residual network for Connect Four (AlphaZero: Silver et al., Science 2018).

Input ``(n, 3, 6, 7)`` float32 (``rules.Board.encode``); output ``(logits (n, 7), value (n,))``, value in
[-1, 1] from the point of view of the player to move. The default "linenet" has about 280 K parameters
(~1.1 MB as float32), small enough to train on a CPU in the self-play budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from skills.game.rules import HEIGHT, WIDTH

IN_PLANES = 3


@dataclass(frozen=True)
class NetConfig:
    """Shape of a ``PolicyValueNet``.

    ``kind="linenet"`` (default): one 4x4 convolution (every one of the 69 lines of four lies inside some 4x4
    window, so each filter can detect threats anywhere) then a two-layer MLP of width ``hidden``: ~250 K
    multiply-adds per position, about 10x cheaper on a CPU than a small ResNet, which matters because
    self-play on 2 shared cores is bounded by network evaluations. ``kind="resnet"``: AlphaZero's tower of
    ``blocks`` residual blocks of ``channels`` 3x3 filters.
    """

    kind: str = "linenet"
    channels: int = 64
    blocks: int = 3
    hidden: int = 256
    value_hidden: int = 64


class ResBlock(nn.Module):
    """Two 3x3 conv + batch-norm layers with a skip connection (He et al. 2016)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(ch)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(x + y)


class PolicyValueNet(nn.Module):
    """AlphaZero-style two-headed network.

    ``forward(x: (n, 3, 6, 7)) -> (logits (n, 7), value (n,))``. Logits are unmasked: callers mask illegal
    columns before the softmax.
    """

    def __init__(self, config: NetConfig | None = None) -> None:
        super().__init__()
        self.config = config or NetConfig()
        ch = self.config.channels
        if self.config.kind == "linenet":
            self.lines = nn.Conv2d(IN_PLANES, ch, 4)
            flat = ch * (HEIGHT - 3) * (WIDTH - 3)
            self.trunk = nn.Sequential(
                nn.Linear(flat, self.config.hidden),
                nn.ReLU(),
                nn.Linear(self.config.hidden, self.config.hidden),
                nn.ReLU(),
            )
            self.p_head = nn.Linear(self.config.hidden, WIDTH)
            self.v_head = nn.Sequential(
                nn.Linear(self.config.hidden, self.config.value_hidden),
                nn.ReLU(),
                nn.Linear(self.config.value_hidden, 1),
            )
            return
        if self.config.kind != "resnet":
            raise ValueError(f"unknown network kind {self.config.kind!r}; expected 'linenet' or 'resnet'")
        self.stem = nn.Sequential(
            nn.Conv2d(IN_PLANES, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU()
        )
        self.body = nn.Sequential(*[ResBlock(ch) for _ in range(self.config.blocks)])
        self.p_conv = nn.Sequential(nn.Conv2d(ch, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU())
        self.p_fc = nn.Linear(2 * HEIGHT * WIDTH, WIDTH)
        self.v_conv = nn.Sequential(nn.Conv2d(ch, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU())
        self.v_fc1 = nn.Linear(HEIGHT * WIDTH, self.config.value_hidden)
        self.v_fc2 = nn.Linear(self.config.value_hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.kind == "linenet":
            h = self.trunk(F.relu(self.lines(x)).flatten(1))
            return self.p_head(h), torch.tanh(self.v_head(h)).squeeze(1)
        h = self.body(self.stem(x))
        logits = self.p_fc(self.p_conv(h).flatten(1))
        v = F.relu(self.v_fc1(self.v_conv(h).flatten(1)))
        value = torch.tanh(self.v_fc2(v)).squeeze(1)
        return logits, value


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def save_network(net: PolicyValueNet, path: str | Path, **meta: object) -> None:
    """Write ``{"config", "state_dict", "meta"}`` to ``path`` (float32 weights; a few hundred KB)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"config": asdict(net.config), "state_dict": net.state_dict(), "meta": dict(meta)}, tmp)
    tmp.replace(path)


def load_network(path: str | Path) -> PolicyValueNet:
    """Load a file written by ``save_network`` (or a checkpoint with a ``"net"`` entry), in eval mode.

    Raises ``FileNotFoundError`` when the file is missing and ``ValueError`` when it is not a network file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no Connect Four network at {path}")
    blob = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(blob, dict) and "net" in blob:
        blob = blob["net"]
    if not isinstance(blob, dict) or "config" not in blob or "state_dict" not in blob:
        raise ValueError(f"{path} is not a Connect Four network file (expected config + state_dict)")
    net = PolicyValueNet(NetConfig(**blob["config"]))
    net.load_state_dict(blob["state_dict"])
    net.eval()
    return net


DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "c4_net.pt"
