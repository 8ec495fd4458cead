"""The driver: files, git, go.mod, the package around a file, the cache, the worker pool and the
three sources of a run (paths, the index, stdin). It feeds the engine bytes and writes what comes back.
"""

# The module of the trees a warm server keeps from one run for the next (trees.py): loaded by the
# server (zygote.WARM), found in sys.modules by its children's runs; never loaded by a run in a
# process of its own, which keeps none (a module more would be a cost of every commit's).
TREES_MODULE = "goinstrument.driver.trees"
