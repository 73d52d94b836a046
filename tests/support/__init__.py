"""Helpers shared by the test packages and the benchmarks; nothing here is collected as a test."""
