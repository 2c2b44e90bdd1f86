"""Every route declares who may call it, in one dependency.

A domain's permission dependency and the `public` marker below both carry an access label;
`route_access` reads the labels back, so a test can walk every route and fail on one that
declares neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

ACCESS_ATTR = "__finplat_access__"

F = TypeVar("F", bound=Callable[..., Any])


def mark_access(dependency: F, label: str) -> F:
    setattr(dependency, ACCESS_ATTR, label)
    return dependency


def public(reason: str) -> Any:
    """Declare a route open to anyone; the reason is kept for reviewers."""

    async def public_endpoint() -> None:
        return None

    return Depends(mark_access(public_endpoint, f"public: {reason}"))


def _labels(dependant: Dependant) -> list[str]:
    found = []
    label = getattr(dependant.call, ACCESS_ATTR, None)
    if isinstance(label, str):
        found.append(label)
    for child in dependant.dependencies:
        found.extend(_labels(child))
    return found


def route_access(route: APIRoute) -> list[str]:
    """The access labels a route's own dependencies declare."""
    return _labels(route.dependant)


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    name: str
    access: tuple[str, ...]


def _depends_labels(dependencies: Iterable[Any]) -> list[str]:
    labels = []
    for dependency in dependencies:
        label = getattr(getattr(dependency, "dependency", None), ACCESS_ATTR, None)
        if isinstance(label, str):
            labels.append(label)
    return labels


def iter_routes(
    routes: Iterable[Any], prefix: str = "", inherited: tuple[str, ...] = ()
) -> Iterator[RouteInfo]:
    """Every API route under `routes` with its full path and all the access labels that apply
    to it, including those of the routers it was included through.

    FastAPI either copies included routes (older releases) or keeps the included router with
    its include options (newer ones); both shapes are walked.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield RouteInfo(
                prefix + route.path,
                frozenset(route.methods or ()),
                route.name,
                (*inherited, *route_access(route)),
            )
            continue
        original = getattr(route, "original_router", None)
        if original is None:
            continue
        context = getattr(route, "include_context", None)
        labels = tuple(
            dict.fromkeys(
                [
                    *inherited,
                    *_depends_labels(getattr(context, "dependencies", ())),
                    *_depends_labels(getattr(original, "dependencies", ())),
                ]
            )
        )
        yield from iter_routes(
            original.routes, prefix + str(getattr(context, "prefix", "")), labels
        )
