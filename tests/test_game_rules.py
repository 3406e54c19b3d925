"""Connect Four rules: wins in every direction, draws, illegal moves, parsing, rendering, PettingZoo."""

import sys
import types

import numpy as np
import pytest

from skills.game.positions import TestPosition, load_positions, preserves_outcome
from skills.game.rules import Board, IllegalMove, has_alignment, render_board, render_compact


def test_vertical_win():
    b = Board.from_moves("1212121")
    assert b.winner == 0 and b.is_over


def test_horizontal_win_for_second_player():
    b = Board.from_moves("1213747")
    assert b.winner is None
    b = b.play(4)  # O completes columns 2-5 on the bottom row
    assert b.winner == 1, render_board(b)


RISING = "1223433464"  # X then completes a1 b2 c3 d4 with column 4


def test_diagonal_up_right_win():
    b = Board.from_moves(RISING)
    assert b.winner is None
    b = b.play(3)
    assert b.winner == 0, render_board(b)


def test_diagonal_down_right_win():
    b = Board.from_moves("".join(str(8 - int(c)) for c in RISING))
    assert b.winner is None
    b = b.play(3)
    assert b.winner == 0, render_board(b)


def test_no_false_wins_across_column_edges():
    # three X at the top of column 1 and one at the bottom of column 2 are not a vertical line
    bits = (0b111000 << 0) | (1 << 7)
    assert not has_alignment(bits)
    assert has_alignment(0b1111)
    assert has_alignment(1 | 1 << 7 | 1 << 14 | 1 << 21)


def test_full_board_draw():
    b = _random_draw(np.random.default_rng(0))
    assert b.is_full and b.is_draw and b.winner is None and b.is_over
    assert b.legal_moves() == [] and b.moves == 42
    again = Board.from_moves(b.move_string())
    assert again == b and again.is_draw
    with pytest.raises(IllegalMove, match="over"):
        b.play(0)


def _random_draw(rng):
    while True:
        b = Board()
        while not b.is_over:
            b = b.play(int(rng.choice(b.legal_moves())))
        if b.is_draw:
            return b


def test_illegal_moves_are_reported():
    b = Board.from_moves("111111")
    assert not b.can_play(0)
    with pytest.raises(IllegalMove, match="column 1 is full"):
        b.play(0)
    with pytest.raises(IllegalMove, match="not on the board"):
        b.play(7)
    with pytest.raises(IllegalMove, match="not on the board"):
        b.play(-1)
    won = Board.from_moves("1212121")
    with pytest.raises(IllegalMove, match="over"):
        won.play(4)


def test_parsing_is_one_indexed():
    b = Board.from_moves("17")
    assert b.history == (0, 6)
    assert b.move_string() == "17"
    assert b.cells()[0, 0] == 1 and b.cells()[0, 6] == 2
    with pytest.raises(IllegalMove, match="'8' is not a column"):
        Board.from_moves("128")
    with pytest.raises(IllegalMove, match="'0' is not a column"):
        Board.from_moves("0")


def test_winning_and_non_losing_moves():
    b = Board.from_moves("112233")  # X threatens 4 on the bottom row
    assert b.winning_moves() == [3]
    o_turn = Board.from_moves("11223")  # O to move, X threatens column 4
    assert o_turn.non_losing_moves() == [3]
    double = Board.from_moves("4455")
    assert double.to_move == 0
    after = double.play(2)  # X: columns 3, 4, 5 on the bottom row with both ends open
    assert after.non_losing_moves() == []


def test_encode_planes():
    b = Board.from_moves("41")
    x = b.encode()
    assert x.shape == (3, 6, 7)
    assert x[0, 0, 3] == 1 and x[1, 0, 0] == 1  # X (to move) at column 4, O at column 1
    assert x[2].min() == 1  # first player to move
    assert Board.from_moves("4").encode()[2].max() == 0


def test_renderings_fit_platform_limits():
    rng = np.random.default_rng(1)
    for _ in range(30):
        b = Board()
        while not b.is_over:
            b = b.play(int(rng.choice(b.legal_moves())))
            assert len(render_compact(b)) <= 500
            assert "\n" not in render_compact(b)
            text = render_board(b)
            assert len(text) <= 2000 and len(text.splitlines()) == 8
            assert len(render_board(b, emoji=True)) <= 2000
    b = Board.from_moves("4453")
    compact = render_compact(b)
    assert compact.startswith("1:......") and "4:XO...." in compact and compact.endswith("last 4 4 5 3")
    lines = render_board(b).splitlines()
    assert lines[0] == "1 2 3 4 5 6 7"
    assert lines[-2] == ". . O X X . ."  # bottom row
    assert lines[-3] == ". . . O . . ."
    assert lines[-1] == "last: 3"


def _pz_env():
    pytest.importorskip("pettingzoo")
    sys.modules.setdefault("pygame", types.ModuleType("pygame"))  # only used by PettingZoo's renderer
    from pettingzoo.classic import connect_four_v3

    return connect_four_v3.env()


def test_rule_parity_with_pettingzoo_connect_four_v3():
    env = _pz_env()
    rng = np.random.default_rng(7)
    for game in range(60):
        env.reset(seed=game)
        b = Board()
        while True:
            agent = env.agent_selection
            obs, _, term, trunc, _ = env.last()
            if term or trunc:
                break
            assert obs["action_mask"].astype(bool).tolist() == b.legal_mask().tolist()
            # PettingZoo's observation: (6, 7, 2), row 0 at the TOP, plane 0 = the agent's own stones
            ours = b.encode()
            np.testing.assert_array_equal(obs["observation"][::-1, :, 0], ours[0])
            np.testing.assert_array_equal(obs["observation"][::-1, :, 1], ours[1])
            assert env.agents.index(agent) == b.to_move
            col = int(rng.choice(b.legal_moves()))
            env.step(col)
            b = b.play(col)
        rewards = env.rewards
        if b.winner is None:
            assert rewards["player_0"] == rewards["player_1"] == 0 and b.is_draw
        else:
            assert rewards[f"player_{b.winner}"] == 1 and rewards[f"player_{1 - b.winner}"] == -1


def test_load_positions_text_and_json(tmp_path, caplog):
    txt = tmp_path / "Test_L9_R9"
    txt.write_text("4453 2\nbad line here\n128 0\n\n17 -1\n")
    pos = load_positions(txt)
    assert [p.moves for p in pos] == ["4453", "17"]
    assert "skipped" in caplog.text
    js = tmp_path / "t.json"
    js.write_text(
        '[{"sequence": "44", "score": 1, "analysis": [-1, 0, 1, 1, 0, -1, null]}, {"sequence": "x"}]'
    )
    pj = load_positions(js)
    assert len(pj) == 1 and pj[0].move_scores[6] is None
    assert preserves_outcome(pj[0], 2) and not preserves_outcome(pj[0], 1) and not preserves_outcome(pj[0], 6)
    lost = TestPosition("44", -3, (-3,) * 7)
    assert preserves_outcome(lost, 0)
    draw = TestPosition("44", 0, (0, -1, 0, 0, 0, 0, 0))
    assert preserves_outcome(draw, 0) and not preserves_outcome(draw, 1)
