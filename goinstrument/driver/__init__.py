"""The driver: files, git, go.mod, the package around a file, the cache, the worker pool and the
three sources of a run (paths, the index, stdin). It feeds the engine bytes and writes what comes back.
"""
