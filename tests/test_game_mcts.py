"""PUCT search: tactics, proven values, virtual loss, batching across searches, engine routing, agents."""

import asyncio

import numpy as np
import pytest

from skills.game.agents import GreedyAgent, RandomAgent, play_match
from skills.game.mcts import Search, SearchConfig, run_searches, run_searches_async, torch_evaluator
from skills.game.network import NetConfig, PolicyValueNet
from skills.game.player import BotPlayer, local_evaluator
from skills.game.rules import Board


def uniform(states):
    n = len(states)
    return np.zeros((n, 7), dtype=np.float32), np.zeros(n, dtype=np.float32)


def test_takes_an_immediate_win_and_blocks_a_threat():
    win = Search(Board.from_moves("112233"), SearchConfig(simulations=20))
    run_searches([win], uniform)
    assert win.choose_move() == 3 and win.root.proven == 1.0
    block = Search(Board.from_moves("11223"), SearchConfig(simulations=20))
    run_searches([block], uniform)
    assert block.choose_move() == 3
    assert block.visit_policy()[3] == pytest.approx(1.0)


def test_mcts_solver_proves_a_double_threat_win():
    s = Search(Board.from_moves("4455"), SearchConfig(simulations=400))
    run_searches([s], uniform)
    assert s.root.proven == 1.0
    assert s.choose_move() in (2, 5)  # makes an open three with both ends free
    assert s.simulations <= 400


def test_lost_root_still_returns_a_legal_move():
    b = Board.from_moves("44553")  # O to move facing two threats: lost
    s = Search(b, SearchConfig(simulations=10))
    run_searches([s], uniform)
    assert s.root.proven == -1.0 and s.choose_move() in b.legal_moves()


def test_visits_match_simulations_with_virtual_loss():
    for k in (1, 8):
        s = Search(Board.from_moves("44"), SearchConfig(simulations=200, leaves_per_round=k))
        run_searches([s], uniform)
        assert sum(s.root.N) == s.simulations == 200
        # all virtual losses were removed: mean Q lies in [-1, 1]
        assert all(-1 <= w / n <= 1 for w, n in zip(s.root.W, s.root.N, strict=True) if n)


def test_leaves_of_concurrent_searches_share_one_batch():
    sizes = []

    def counting(states):
        sizes.append(len(states))
        return uniform(states)

    searches = [
        Search(Board.from_moves(m), SearchConfig(simulations=30)) for m in ("4", "44", "444", "1", "7")
    ]
    run_searches(searches, counting)
    assert max(sizes) == 5  # one leaf per search per round, evaluated together
    assert all(s.done for s in searches)


async def test_async_search_batches_through_an_engine_like_callable():
    sizes = []

    async def evaluate(states):
        sizes.append(len(states))
        await asyncio.sleep(0)
        return uniform(states)

    searches = [Search(Board.from_moves("4"), SearchConfig(simulations=16)) for _ in range(6)]
    n = await run_searches_async(searches, evaluate)
    assert n == sum(sizes) and max(sizes) == 6


async def test_bot_player_runs_through_the_engine_policy_call():
    from bot.inference.settings import InferenceSettings
    from bot.inference.testing import tiny_engine

    engine = await tiny_engine(InferenceSettings(device="cpu", stats_log_interval_s=0), with_generator=False)
    try:
        net = PolicyValueNet(NetConfig(channels=4, hidden=16, value_hidden=8)).eval()
        engine.register_policy("c4", lambda: net, max_batch_size=64, max_wait_ms=5)
        from skills.game.player import engine_evaluator

        player = BotPlayer(engine_evaluator(engine), seed=0)
        boards = [Board.from_moves(m) for m in ("4", "44", "445", "3", "2", "1")]
        moves = await asyncio.gather(*(player.choose(b, "normal") for b in boards))
        assert all(m in b.legal_moves() for m, b in zip(moves, boards, strict=True))
        assert engine.stats()["policy:c4"]["max_batch_size"] > 8  # leaves of several games in one batch
    finally:
        await engine.stop()


async def test_a_busy_engine_falls_back_to_the_local_network_instead_of_failing():
    # regression (trial 19): the policy request timed out behind a slow first embedding batch and the
    # viewer's challenge was cancelled ("the Connect Four bot is unavailable right now")
    from bot.inference.api import EngineBusy, ModelUnavailable
    from skills.game.player import engine_evaluator

    class Busy:
        async def policy(self, name, states):
            raise EngineBusy("policy:c4: no answer within 10 s")

    net = PolicyValueNet(NetConfig(channels=4, hidden=16, value_hidden=8)).eval()
    player = BotPlayer(engine_evaluator(Busy(), fallback=local_evaluator(lambda: net)), seed=0)
    board = Board.from_moves("44")
    assert await player.choose(board, "easy") in board.legal_moves()
    with pytest.raises(EngineBusy):  # without a fallback the error still reaches the game
        await BotPlayer(engine_evaluator(Busy()), seed=0).choose(board, "easy")

    class Missing:
        async def policy(self, name, states):
            raise ModelUnavailable("policy:c4: not loaded")

    with pytest.raises(ModelUnavailable):  # only "busy" falls back: a missing model is an error
        await BotPlayer(engine_evaluator(Missing(), fallback=local_evaluator(lambda: net)), seed=0).choose(
            board, "easy")


async def test_local_evaluator_matches_direct_network():
    net = PolicyValueNet(NetConfig(channels=4, hidden=16, value_hidden=8)).eval()
    ev = local_evaluator(lambda: net)
    x = np.stack([Board.from_moves("4").encode(), Board().encode()])
    logits, value = await ev(x)
    l2, v2 = torch_evaluator(net)(x)
    np.testing.assert_allclose(logits, l2, rtol=1e-5)
    np.testing.assert_allclose(value, v2, rtol=1e-5)


def test_mcts_with_uniform_net_beats_random_and_greedy_players():
    from skills.game.agents import MCTSAgent

    agent = MCTSAgent(uniform, SearchConfig(simulations=40), seed=0)
    r = play_match(agent, RandomAgent(seed=1), 20)
    assert r.wins >= 17  # no value knowledge at all, only search and tactics
    assert play_match(GreedyAgent(seed=2), RandomAgent(seed=3), 40).score > 0.7


def test_easy_level_can_miss_wins_and_blocks_but_normal_cannot():
    player = BotPlayer(uniform_async, seed=0)
    for moves, must in (("112233", 3), ("11223", 3)):
        b = Board.from_moves(moves)
        easy = {_pick(b, player.config_for("easy"), 1.5, seed) for seed in range(30)}
        normal = {_pick(b, player.config_for("normal"), 0.5, seed) for seed in range(10)}
        assert len(easy) > 1 and must in easy
        assert normal == {must}


async def uniform_async(states):
    return uniform(states)


def _pick(board, cfg, temperature, seed):
    s = Search(board, cfg, np.random.default_rng(seed))
    run_searches([s], uniform)
    return s.choose_move(temperature)
