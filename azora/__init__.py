"""Composition root: settings, wiring and the ``azora`` command line."""
