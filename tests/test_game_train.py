"""Self-play training loop: a tiny network trains a few steps, checkpoints, resumes, saves and loads."""

import numpy as np
import pytest
import torch

from skills.game.network import NetConfig, PolicyValueNet, load_network, save_network
from skills.game.rules import Board
from skills.game.train import ReplayBuffer, TrainConfig, Trainer, train_step

TINY = NetConfig(kind="linenet", channels=4, hidden=16, value_hidden=8)


def _config(**kw):
    base = dict(
        seed=3,
        net=TINY,
        games_in_flight=4,
        sims_full=6,
        sims_fast=3,
        sims_full_start=6,
        sims_fast_start=3,
        min_buffer=32,
        batch_size=16,
        buffer_size=2000,
        eval_games=2,
        eval_sims=2,
        eval_positions=4,
        checkpoint_every_s=1e9,
        eval_every_s=1e9,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_training_runs_checkpoints_and_resumes(tmp_path):
    torch.set_num_threads(1)
    trainer = Trainer(tmp_path, _config())
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.run(max_games=8)
    assert trainer.games_played >= 8
    assert trainer.steps > 0
    assert trainer.buffer.size == trainer.positions > 0
    changed = any(not torch.equal(before[k], v) for k, v in trainer.net.state_dict().items())
    assert changed, "training steps must change the weights"
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "metrics.jsonl").exists()
    assert (tmp_path / "curve.png").stat().st_size > 1000

    resumed = Trainer(tmp_path, _config(), resume=True)
    assert resumed.games_played == trainer.games_played and resumed.steps == trainer.steps
    assert resumed.buffer.size == trainer.buffer.size
    for k, v in trainer.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[k], v)
    resumed.run(max_games=4)
    assert resumed.games_played >= trainer.games_played + 4


def test_value_targets_follow_the_game_result(tmp_path):
    trainer = Trainer(tmp_path, _config())
    trainer.run(max_games=4)
    n = trainer.buffer.size
    z = trainer.buffer.z[:n]
    assert set(np.unique(z)).issubset({-1.0, 0.0, 1.0})
    # in a decisive game consecutive positions alternate movers, so targets alternate in sign
    assert np.any(z[:-1] == -z[1:])
    pi = trainer.buffer.policy[:n]
    np.testing.assert_allclose(pi.sum(1), 1.0, atol=1e-5)


def test_network_save_load_round_trip(tmp_path):
    net = PolicyValueNet(TINY).eval()
    x = torch.from_numpy(np.stack([Board.from_moves("4453").encode(), Board().encode()]))
    logits, value = net(x)
    assert logits.shape == (2, 7) and value.shape == (2,)
    assert torch.all(value.abs() <= 1)
    save_network(net, tmp_path / "n.pt")
    again = load_network(tmp_path / "n.pt")
    l2, v2 = again(x)
    assert torch.allclose(logits, l2) and torch.allclose(value, v2)


def test_train_step_reduces_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = PolicyValueNet(TINY).eval()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    buf = ReplayBuffer(64)
    for i in range(32):
        b = Board.from_moves([int(c) for c in rng.integers(0, 7, size=4)])
        pi = np.zeros(7, dtype=np.float32)
        pi[i % 7] = 1.0
        buf.add(b.encode().astype(np.int8), pi, 1.0, 1.0 if i % 2 else -1.0)
    batch = buf.sample(32, rng)
    first = train_step(net, opt, batch)
    for _ in range(30):
        last = train_step(net, opt, batch)
    assert last["policy_loss"] + last["value_loss"] < first["policy_loss"] + first["value_loss"]


def test_mirror_augmentation_flips_state_and_policy():
    buf = ReplayBuffer(4)
    b = Board.from_moves("1")
    pi = np.array([1, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    buf.add(b.encode().astype(np.int8), pi, 1.0, 0.0)
    seen = set()
    for seed in range(20):
        x, p, _, _ = buf.sample(1, np.random.default_rng(seed))
        col = int(torch.argmax(p[0]))
        seen.add(col)
        assert x[0, 1, 0, col] == 1.0  # the opponent's stone sits where the policy points
    assert seen == {0, 6}


@pytest.mark.parametrize("args", [["--threads", "0"], ["--minutes", "nan"], ["--minutes", "-1"],
                                  ["--games-in-flight", "0"], ["--out", "FILE"], ["--threads", "99999"],
                                  ["--out", "FILE/sub"]])
def test_train_game_refuses_bad_arguments_before_training(tmp_path, args):
    # trial 14: --threads 0 and an --out that is a file were tracebacks; --minutes nan never ended;
    # --minutes -1 and --games-in-flight 0 "trained" 0 games and overwrote the run's weights
    from typer.testing import CliRunner

    from bot.cli import app

    afile = tmp_path / "one.txt"
    afile.write_text("x")
    args = [a.replace("FILE", str(afile)) for a in args]
    out = ["--out", str(tmp_path / "run")] if "--out" not in args else []
    result = CliRunner().invoke(app, ["train", "game", *out, *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()
