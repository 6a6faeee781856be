"""Numbered schema migrations, one folder per database dialect."""
