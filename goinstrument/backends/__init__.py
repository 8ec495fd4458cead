"""Backends: what a span looks like in each tracing library. `protocol` (the `Backend` protocol with
every member a backend may provide, `Names`), `otel`, `datadog`, and `loader` (the built-in ones by
name, a user's own as `module:attribute`, the trust a configuration file's choice needs).
Nothing here imports the engine, the driver, the report or the command line.
"""
