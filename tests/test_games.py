import numpy as np
import pytest

from zoo.games import AlphaBeta, ConnectFour, IllegalMove, PerfectTicTacToe, RandomPlayer, TicTacToe, play_match


def _play(game, moves):
    s = game.initial()
    for a in moves:
        s = game.play(s, a)
    return s


@pytest.mark.parametrize("moves,winner", [
    ([0, 3, 1, 4, 2], 1),            # row
    ([0, 1, 3, 2, 6], 1),            # column
    ([0, 1, 4, 2, 8], 1),            # diagonal
    ([1, 2, 3, 4, 5, 6], -1),        # anti-diagonal, second player
])
def test_tictactoe_wins_in_every_direction(moves, winner):
    g = TicTacToe()
    s = _play(g, moves)
    assert g.winner(s) == winner
    with pytest.raises(IllegalMove, match="game is over"):
        g.play(s, 7 if 7 not in moves else 8)


def test_tictactoe_draw_and_illegal_moves():
    g = TicTacToe()
    s = _play(g, [0, 1, 2, 4, 3, 5, 7, 6, 8])
    assert g.winner(s) == 0
    s = _play(g, [4])
    with pytest.raises(IllegalMove, match="not legal here.*legal: \\[0, 1, 2, 3, 5"):
        g.play(s, 4)
    with pytest.raises(IllegalMove, match="outside 0..8"):
        g.play(s, 9)
    with pytest.raises(IllegalMove, match="integer"):
        g.play(s, "a")


@pytest.mark.parametrize("moves,winner", [
    ([0, 6, 1, 6, 2, 6, 3], 1),                       # horizontal
    ([0, 1, 0, 1, 0, 1, 0], 1),                       # vertical
    ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 1),           # diagonal /
    ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], 1),           # diagonal \\
    ([6, 0, 6, 1, 5, 2, 5, 3], -1),                   # second player, horizontal
])
def test_connect_four_wins_in_every_direction(moves, winner):
    g = ConnectFour()
    assert g.winner(_play(g, moves)) == winner
    assert g.winner(_play(g, moves[:-1])) is None


def test_connect_four_gravity_full_column_and_draw():
    g = ConnectFour()
    s = _play(g, [3] * 6)
    assert s.board[5, 3] == 1 and s.board[0, 3] == -1
    with pytest.raises(IllegalMove, match="column 3 is full"):
        g.play(s, 3)
    # A full board with no four in a row: columns filled in a pattern that never lines up.
    order = [0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2,
             4, 5, 4, 5, 4, 5, 5, 4, 5, 4, 5, 4, 6, 6, 6, 6, 6, 6]
    s = g.initial()
    for a in order:
        assert g.winner(s) is None, g.render(s)
        s = g.play(s, a)
    assert g.winner(s) == 0


def test_symmetries_keep_board_and_policy_together():
    g = TicTacToe()
    s = _play(g, [0, 4])
    planes = g.encode(s)
    policy = np.arange(9, dtype=np.float32)
    syms = g.symmetries(planes, policy)
    assert len(syms) == 8
    seen = set()
    for b, p in syms:  # X (the mover, plane 0) sits on cell 0: its policy entry must travel with it
        (r, c), = np.argwhere(b[..., 0] == 1)
        assert p[r * 3 + c] == 0 and b[1, 1, 1] == 1  # O stays in the centre
        seen.add(p.tobytes())
    assert len(seen) == 8
    c4 = ConnectFour()
    (b0, p0), (b1, p1) = c4.symmetries(c4.encode(_play(c4, [0])), np.arange(7.0))
    assert b1[5, 6, 1] == 1 and p1[0] == 6


def test_perfect_player_never_loses_and_beats_random():
    perfect = PerfectTicTacToe(seed=0)
    g = TicTacToe()
    assert play_match(g, perfect, PerfectTicTacToe(seed=1), games=10)["losses"] == 0  # perfect play: draws
    r = play_match(g, perfect, RandomPlayer(g, seed=0), games=40)
    assert r["losses"] == 0 and r["wins"] >= 30


def test_perfect_player_values():
    p = PerfectTicTacToe()
    g = TicTacToe()
    s = _play(g, [0, 3, 1, 4])        # X to move can win at 2
    assert p.values(s)[2] == 1 and p.move(s) == 2
    assert PerfectTicTacToe().values(g.initial()).max() == 0  # the empty board is a draw


def test_alphabeta_takes_a_win_and_blocks_a_loss():
    g = ConnectFour()
    ab = AlphaBeta(depth=4)
    assert ab.move(_play(g, [0, 6, 1, 6, 2, 5])) == 3                # win now
    assert ab.move(_play(g, [6, 0, 5, 1, 6, 2])) == 3                # block the open three
    r = play_match(g, ab, RandomPlayer(g, seed=0), games=6)
    assert r["wins"] == 6


def _uniform(game):
    return lambda planes: (np.full(game.n_actions, 1.0 / game.n_actions), 0.0)


@pytest.mark.parametrize("game,moves,win", [
    (TicTacToe(), [0, 3, 1, 4], 2),
    (TicTacToe(), [4, 0, 2, 6, 3, 1], None),       # X to move; the win is found by brute force
    (ConnectFour(), [0, 6, 1, 6, 2, 5], 3),
])
def test_mcts_finds_a_forced_win_in_one(game, moves, win):
    from zoo.games.mcts import MCTS

    s = _play(game, moves)
    if win is None:  # find it by brute force, to test MCTS on a position chosen blind
        win = next(a for a in np.flatnonzero(game.legal(s)) if game.winner(game.play(s, int(a))) == s.player)
    visits = MCTS(game, _uniform(game), simulations=200).run(s)
    assert int(np.argmax(visits)) == win


def test_mcts_blocks_the_opponents_win():
    from zoo.games.mcts import MCTS

    g = TicTacToe()
    s = _play(g, [0, 4, 1])  # O to move must block at 2
    visits = MCTS(g, _uniform(g), simulations=400).run(s)
    assert int(np.argmax(visits)) == 2


def test_mcts_noise_and_temperature():
    from zoo.games.mcts import MCTS, policy_from_visits

    g = TicTacToe()
    a = MCTS(g, _uniform(g), simulations=50, seed=1).run(g.initial(), noise=True)
    b = MCTS(g, _uniform(g), simulations=50, seed=2).run(g.initial(), noise=True)
    assert a.sum() == b.sum() == 50 and not np.array_equal(a, b)
    p = policy_from_visits(np.array([1.0, 3.0, 0.0]), 0)
    assert p.tolist() == [0.0, 1.0, 0.0]
    assert policy_from_visits(np.array([1.0, 3.0, 0.0]), 1.0).tolist() == [0.25, 0.75, 0.0]
    with pytest.raises(ValueError, match="game is over"):
        MCTS(g, _uniform(g)).run(_play(g, [0, 3, 1, 4, 2]))


@pytest.mark.parametrize("game", [TicTacToe(), ConnectFour()])
def test_fast_win_check_and_batch_encoding_agree_with_the_plain_ones(game):
    """The search uses a gathered win check, `advance` and `encode_many`; on 300 random games
    they must agree with a full-board scan, `play` and `encode` at every position."""
    rng = np.random.default_rng(0)
    wins = 0
    for _ in range(300):
        s, seen = game.initial(), []
        while game.winner(s) is None:
            a = int(rng.choice(np.flatnonzero(game.legal(s))))
            t = game.advance(s, a)
            assert t == game.play(s, a) and t.moves == s.moves + 1 and t.last == a
            s = t
            seen.append(s)
            assert (game.winner(s) or 0) == game._scan(s.board)  # a draw and a game going on both scan 0
        wins += game.winner(s) != 0
        assert np.array_equal(game.encode_many(seen), np.stack([game.encode(x) for x in seen]))
    assert wins > 100  # the test saw plenty of wins, not only draws


def test_match_from_an_opening_book_reports_its_final_positions():
    g = ConnectFour()
    starts = [_play(g, [3, 3]), _play(g, [0, 6])]
    finals = []
    out = play_match(g, RandomPlayer(g, seed=0), RandomPlayer(g, seed=1), games=2, finals=finals, starts=starts)
    assert sum(out.values()) == 2 and len(finals) == 2
    for start, end in zip(starts, finals):
        assert g.winner(end) is not None and end.moves > start.moves
        assert (end.board[start.board != 0] == start.board[start.board != 0]).all()  # played on from the start
    with pytest.raises(ValueError, match="3 start positions for 2 games"):
        play_match(g, RandomPlayer(g), RandomPlayer(g), games=2, starts=starts + starts[:1])
