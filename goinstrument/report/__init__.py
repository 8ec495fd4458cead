"""What a run tells its user: the closing line and findings as text, JSON, GitHub annotations,
SARIF, and the diffs.
"""
