"""``make bench`` / ``seldon-pkg bench``: the project's own benchmark (see run.py)."""
