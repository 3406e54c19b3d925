"""Custom text commands (``!discord`` -> a fixed reply) and timed messages, as on Nightbot."""
