"""The inference engine: the only door to models (see ``api.py`` for the interface skills use)."""
