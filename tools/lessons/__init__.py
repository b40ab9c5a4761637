"""Lesson texts: one module per notebook, each with ``FILE`` (or ``CASE``) and ``cells(ctx)``."""
