"""goinstrument: add OpenTelemetry spans to Go functions that take a context.Context."""

__version__ = "0.1.0"
