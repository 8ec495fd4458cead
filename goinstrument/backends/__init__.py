"""Backends: what a span looks like in each tracing library (the protocol, OpenTelemetry, Datadog)
and the loader for a backend named by module.
"""
