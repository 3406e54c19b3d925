"""Collaborative story-telling: ``StorySkill`` (skill.py) with its pure parts: moderation.py (safety
filter), prompting.py (prompt frame and context budget), postprocess.py (sentence cut, loops, fitting),
voting.py (chat votes) and quality.py (measures used by the benchmark)."""
