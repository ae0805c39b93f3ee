"""Developer tooling that is not part of the installed package (the embedded test cluster)."""
