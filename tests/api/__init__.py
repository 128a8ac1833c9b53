"""The front doors: STCContext, the module calls, stc.open, the fsspec filesystem, folders,
the examples of the manual and the README, and the types a strict user meets."""
