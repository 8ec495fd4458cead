"""The engine: Go source bytes and rewrite options in; the rewritten bytes, findings and coverage out.

Pure: no file, process, git or clock is touched here (tests/test_layers.py checks the imports).
"""
