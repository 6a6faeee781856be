"""Run `python -m bot serve` as a real process for tests, and wait until it is ready."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp


async def start_serve(
    env: dict[str, str], port: int, cwd: Path, *, within: float = 20.0
) -> asyncio.subprocess.Process:
    """Start `serve` on 127.0.0.1:`port` with `env` added to ours; return once /readyz says so."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
        env={**os.environ, **env}, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientConnectionError:
                pass
            if process.returncode is not None:
                break
            await asyncio.sleep(0.05)
    if process.returncode is None:
        process.kill()
    await process.wait()
    err = await process.stderr.read() if process.stderr else b""
    raise AssertionError(f"serve did not become ready:\n{err.decode(errors='replace')}")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()
