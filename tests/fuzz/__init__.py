"""Fuzzing the parsers the gateway and the wrappers own (targets.py), and the REST routes
(rest.py). ``make fuzz`` runs both for a bounded time; tests/test_fuzz_corpus.py runs the fixed
corpus in corpus/ through the same property checks as an ordinary test."""
