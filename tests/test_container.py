"""The image and compose.yaml, built and run under podman: deploy/podman_smoke.py.

Runs where podman can run them here (root; Debian's podman, runc, netavark, aardvark-dns, iptables and
podman-compose; debootstrap while the base image is missing), much faster once the images
exist. Elsewhere it is skipped with the reason, unless BOT_REQUIRE_CONTAINER=1 makes that a
failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.podman_smoke import unavailable

ROOT = Path(__file__).resolve().parent.parent


def test_image_alone_then_compose_under_podman() -> None:
    reason = unavailable()
    if reason is not None:
        if os.environ.get("BOT_REQUIRE_CONTAINER") == "1":
            pytest.fail(f"BOT_REQUIRE_CONTAINER=1 but {reason}", pytrace=False)
        pytest.skip(f"{reason}; BOT_REQUIRE_CONTAINER=1 makes this fail")
    done = subprocess.run(
        [sys.executable, "-m", "deploy.podman_smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    print(done.stdout)  # each step's duration, shown with -s or -rP
    assert done.returncode == 0, f"{done.stdout[-8000:]}\n{done.stderr[-12000:]}"
