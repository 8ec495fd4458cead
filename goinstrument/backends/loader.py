"""Loading a backend: the built-in ones by name (`BACKENDS`), a user's own as `module:attribute`,
and the trust a configuration file's choice of one needs."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from goinstrument.backends.datadog import Datadog
from goinstrument.backends.otel import OpenTelemetry
from goinstrument.backends.protocol import Backend, Names

BACKENDS: dict[str, Backend] = {"otel": OpenTelemetry(), "datadog": Datadog()}


class BackendError(Exception):
    pass


# A backend is Python code: one that a repository's .goinstrument.toml names runs only when
# the user names it too, on the command line (--backend) or in this variable (comma-separated).
TRUST_VARIABLE = "GOINSTRUMENT_TRUST_BACKEND"


def untrusted(name: str) -> str | None:
    """Why a backend named by a configuration file is not loaded; None for a built-in or a trusted one."""
    trusted = {entry.strip() for entry in os.environ.get(TRUST_VARIABLE, "").split(",")}
    if name in BACKENDS or name in trusted:
        return None
    return (
        f'backend "{name}" is Python code, not run on a configuration file\'s say-so:'
        f" pass --backend {name}, or set {TRUST_VARIABLE}={name} to trust it"
    )


@functools.lru_cache(maxsize=8)
def load_backend(name: str) -> Backend:
    """A built-in backend by name, or a user's own as `module:attribute` (loaded once per process)."""
    if name in BACKENDS:
        return BACKENDS[name]
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise BackendError(f"unknown backend {name!r}: use otel, datadog, or module:attribute")
    try:
        found = getattr(_import_outside_cwd(module_name), attribute)
    except ModuleNotFoundError as exc:
        raise BackendError(
            f"cannot load backend {name!r}: {exc} (the current directory is never searched: install the module or put its directory on PYTHONPATH)"
        ) from None
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"cannot load backend {name!r}: {exc}") from None
    backend: Backend = found() if isinstance(found, type) else found
    missing = [a for a in REQUIRED if not hasattr(backend, a)]
    if missing:
        raise BackendError(f"backend {name!r} lacks {', '.join(missing)}")
    return backend if all(hasattr(backend, a) for a in OPTIONAL) else _Completed(backend)


REQUIRED = ("start_imports", "error_imports", "preferred_names", "lines")
# with Backend's defaults (_Completed)
OPTIONAL = ("attribute_imports", "start_attribute_imports", "declares_context", "server_imports", "route_imports", "modules")


class _Completed:
    """A user's backend with the optional members it lacks at the protocol's defaults (the one place
    that reads a backend's members by name: everything else uses the protocol)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.start_imports: tuple[str, ...] = inner.start_imports
        self.error_imports: tuple[str, ...] = inner.error_imports
        self.preferred_names: dict[str, tuple[str, ...]] = inner.preferred_names
        self.attribute_imports: tuple[str, ...] = getattr(inner, "attribute_imports", Backend.attribute_imports)
        self.start_attribute_imports: tuple[str, ...] = getattr(inner, "start_attribute_imports", Backend.start_attribute_imports)
        self.declares_context: bool = getattr(inner, "declares_context", Backend.declares_context)
        self.server_imports: tuple[str, ...] = getattr(inner, "server_imports", Backend.server_imports)
        self.route_imports: tuple[str, ...] = getattr(inner, "route_imports", Backend.route_imports)
        self.modules: tuple[str, ...] = getattr(inner, "modules", Backend.modules)

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        lines: list[str] = self.inner.lines(names, tracer, span_name)
        return lines


def _import_outside_cwd(module_name: str) -> object:
    """The module, imported with sys.path rid of the current directory in all its spellings
    (the command line has done so already; a caller of this module may not have)."""
    import importlib

    from goinstrument import outside_current_directory

    saved = list(sys.path)
    sys.path[:] = outside_current_directory(saved)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path[:] = saved
