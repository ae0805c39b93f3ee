"""The fuzzers' fixed corpus as an ordinary test: every input in tests/fuzz/corpus/<target>/
through the same property check the coverage-guided runs use (``make fuzz``). Each bug a fuzz
run found left an input here (named ``regression-*``), so it stays found."""

from __future__ import annotations

import pytest

from tests.fuzz.targets import TARGETS, corpus

CASES = [(target, path) for target in TARGETS for path in corpus(target)]


@pytest.mark.timeout(30)  # "no hang": every corpus input runs in well under a second
@pytest.mark.parametrize(("target", "path"), CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_corpus_input_keeps_the_property(target, path):
    TARGETS[target](path.read_bytes())


def test_every_target_has_a_corpus():
    assert all(corpus(target) for target in TARGETS)
