"""Pure-Python reference twins of the compiled modules, for differential tests."""
