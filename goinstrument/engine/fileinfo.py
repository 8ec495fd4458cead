"""What the pure core is told about the file whose bytes it gets: values only, nothing to call back."""

from __future__ import annotations

from goinstrument.backends.loader import BACKENDS
from goinstrument.backends.protocol import Backend
from goinstrument.engine.go.rangefunc import Iterators
from goinstrument.engine.go.typenames import PREDECLARED
from goinstrument.engine.result import Position
from goinstrument.tuples import NamedTuple

_NUMBERED = range(1, 4)  # otel1, otel2, otel3: numbered names a fresh import may get


class FileInfo(NamedTuple):
    path: str = "<stdin>"  # shown in messages, and the base of code.file.path
    tracer: str = "main"  # tracer name resolved for this file's package
    import_path: str = ""  # the package's import path, from go.mod ("" outside a module)
    # Which of import_name_candidates(backend) the package's other files declare at
    # package level (package_scope.package_declarations): a new import must not take
    # them, an import of ours holding one is renamed, and a declared `error` is not
    # the predeclared one.
    sibling_names: frozenset[str] = frozenset()
    backend: Backend = BACKENDS["otel"]  # the loaded backend: loader.load_backend(settings.backend)
    # How many `func init` the package's files compiled before this one declare
    # (package_scope.init_functions_before): the runtime numbers them across the
    # package, and names their literals init.0.func1, init.1.func1, ...
    init_functions_before: int = 0
    # (alias, type) for the package's top-level `type A = T` / `type A = *T`
    # (package_scope.package_aliases; the type `T` or `*T`): a method declared on A
    # is named T.M, and (*T).M in the runtime's full name where A is a pointer.
    # The file's own aliases are read from the file; these add the other files'.
    package_aliases: tuple[tuple[str, str], ...] = ()
    # (file name in the package's directory, position) of the first `==`/`!=` comparing contexts
    # in the package's files (package_scope.context_comparison), or None. With one, no span of the
    # package replaces its function's context: `_, span := ...Start(ctx, ...)` (behaviour.py).
    context_comparison: tuple[str, Position] | None = None
    # What the package's files declare that makes a range over their call a range over a
    # function (package_scope.package_iterators): the literals of such a loop are numbered
    # body first (rangefunc.py). The file's own declarations are read from the file.
    package_iterators: Iterators = Iterators()
    # The runtime numbers (init.funcN) of the file's package-level literals in source order,
    # counted across the package in initialisation order (package_scope.package_literal_numbers);
    # empty (or not one per literal the file holds): counted in the file, in source order.
    package_literals: tuple[int, ...] = ()
    # --new-from-rev: the lines changed since the revision, as (first, last) ranges (gitops.changed_go_lines;
    # (n + 1, n): lines deleted after line n). Only the functions whose lines, from `func` to the closing
    # brace, overlap one are reported and counted in the coverage; None: every function is.
    changed_lines: tuple[tuple[int, int], ...] | None = None
    module_path: str = ""  # the module's path, from go.mod ("" outside a module): the default local import prefix
    # The language version go.mod's `go` line names, (major, minor); None outside a module or without
    # one: what the inserted code may use (--http-handlers reads Request.Pattern from Go 1.23 on).
    go_version: tuple[int, int] | None = None

    def local_prefixes(self, configured: str | None) -> tuple[str, ...]:
        """goimports' -local prefixes: the configured ones (comma-separated), else the module path."""
        if configured is not None:
            return tuple(p.strip() for p in configured.split(",") if p.strip())
        return (self.module_path,) if self.module_path else ()

    def is_new(self, first: int, last: int) -> bool:
        """Whether a function from line `first` to line `last` holds a changed line (or a deletion)."""
        if self.changed_lines is None:
            return True
        return any(a <= last and b >= first if b >= a else first < a <= last for a, b in self.changed_lines)


# Names whose package-level declaration in another file changes what this file means:
# a package `error` type is not the predeclared one (typenames.py).
SCOPE_NAMES = PREDECLARED


def import_name_candidates(backend: Backend) -> frozenset[str]:
    """The names to look for in the package's other files: every name an import of the
    backend's packages may get (its preferred names, numbered too), and SCOPE_NAMES."""
    names = {name for preferred in backend.preferred_names.values() for name in preferred}
    return frozenset(names | {f"{name}{n}" for name in names for n in _NUMBERED} | SCOPE_NAMES)
