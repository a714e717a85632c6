"""Renderers for decisions and test results: a human table (rich) and JSON."""
