"""What the engine knows of Go itself: the parse, scopes and declarations, build constraints,
type names, initialisation order, `//line` directives, generated files and dead code.
"""
