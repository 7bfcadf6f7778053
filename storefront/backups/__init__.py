"""Backups: the database and the media folder in one checked archive (``flask backup``/``restore``)."""
