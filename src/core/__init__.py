"""Manual import path ``core.streaming``, re-exporting :mod:`stc.streaming`."""
