"""What a run tells its user: `summary.Summary` counts every file's outcome and owns the closing
line and the exit code; `formats.FORMATS`, one table, names each output format (text, json,
github, sarif: a module each) and what it needs of the run; linediff makes the diffs.
"""
