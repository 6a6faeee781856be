"""Shared fixtures: the real catalogue, matcher, renderer and engine, built once."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from intents.catalogue import Catalogue, load_catalogue
from intents.matcher import Matcher
from responses.renderer import Renderer


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def matcher(catalogue: Catalogue) -> Matcher:
    return Matcher(catalogue)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="session")
def engine(catalogue: Catalogue, matcher: Matcher, renderer: Renderer) -> Engine:
    return Engine(catalogue, matcher, renderer)
