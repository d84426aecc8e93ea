"""Govern's settings: `base` reads the environment, `test` fixes what the test suite needs."""
