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


def test_request_target_is_reencoded_and_header_bytes_kept():
    """Found by schemathesis on the gateway: a version segment like ``/versions/\U000ae52d/infer``
    made ``request_bytes`` raise UnicodeEncodeError (an aiohttp 500); a decoded ``%0D%0A`` in the
    path would have started a header of the client's choosing on the model's connection."""
    from seldon_pkg.local.http11 import request_bytes

    sent = request_bytes(
        "POST", "/v2/models/m/versions/\U000ae52d é x\r\nX-Evil: 1/infer?a=%20&b=1", b"{}", {"X-A": "caf\udce9 é"}
    )
    head, _, body = sent.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v2/models/m/versions/%F2%AE%94%AD%20%C3%A9%20x%0D%0AX-Evil:%201/infer?a=%20&b=1 HTTP/1.1"
    assert not any(line.startswith(b"X-Evil") for line in lines)
    assert b"X-A: caf\xe9 \xc3\xa9" in lines and body == b"{}"
