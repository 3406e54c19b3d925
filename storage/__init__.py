"""Storage: the only code that speaks SQL. ``Database`` opens the file and runs migrations; one module
per group of tables (``viewers``, ``watch``, and one per skill) holds small typed functions over it."""

from storage.db import Database, SchemaTooNew

__all__ = ["Database", "SchemaTooNew"]
