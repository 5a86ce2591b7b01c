"""The 工作台 (home page) tiles: what waits for me, in my scope, at a glance.

``org`` is below the business apps, so it cannot ask them itself: each app registers a tile
provider in its ``AppConfig.ready`` (``register``). A provider takes the request and returns a
``Tile`` for the people it concerns (by role), or None. Each provider costs one or two counting
queries over the user's scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .types import StaffRequest


@dataclass
class Figure:
    label: str
    value: int
    url: str = ""
    tone: str = ""  # "", "warning", "danger": how the number is shown when it is not zero


@dataclass
class Tile:
    title: str
    figures: list[Figure] = field(default_factory=list)
    link: str = ""  # the page the tile's title opens
    order: int = 50


Provider = Callable[[StaffRequest], Tile | None]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def tiles(request: StaffRequest) -> list[Tile]:
    found = [tile for provider in _providers if (tile := provider(request)) is not None]
    return sorted(found, key=lambda t: t.order)
