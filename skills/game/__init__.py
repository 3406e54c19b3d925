"""Connect Four against a bot trained by self-play RL: rules, network, MCTS, training, evaluation, skill."""
