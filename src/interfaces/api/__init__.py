"""Manual-compatible API paths; everything here is re-exported from :mod:`stc`."""
