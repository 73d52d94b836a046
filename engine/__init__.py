"""The response engine: pure Python, no Django. See engine/engine.py for the entry point."""
