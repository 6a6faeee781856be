"""Refresh the desk's pictures in docs/: `python -m tests.screenshots [FOLDER]`.

Runs the browser test that makes them (a real Chromium, the real app, made-up customers).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "docs").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["BOT_DESK_SCREENSHOTS"] = str(folder)
    test = "tests/test_desk_browser_items.py::test_screenshots_for_the_docs"
    return int(pytest.main(["-q", "-p", "no:cacheprovider", test]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
