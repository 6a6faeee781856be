"""Fake platform servers that listen on 127.0.0.1 and check what the real ones check."""
