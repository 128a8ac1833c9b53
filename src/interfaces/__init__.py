"""Import paths of the STC user manual (``interfaces.api.*``), re-exporting :mod:`stc`."""
