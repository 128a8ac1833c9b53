"""The findings of the security reviews and everyday-use rounds, each a test that reproduces it."""
