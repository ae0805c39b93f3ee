"""Names: same identity -> same name, different identities -> different names, all fit in 63."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_pkg.platforms.names import Identity, fit, label_value, slug
from seldon_pkg.platforms.names import deployment_name as named_within
from seldon_pkg.platforms.seldon import SDEP_MAX, derived_names


def deployment_name(identity: Identity) -> str:
    """The SeldonDeployment name (Seldon's budget)."""
    return named_within(identity, SDEP_MAX)


DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

texts = st.one_of(
    st.text(min_size=0, max_size=200),
    st.text(alphabet="abcXYZ019._-ÄéΩ日本 ", min_size=1, max_size=200),
    st.from_regex(r"[a-z]{150,200}", fullmatch=True),
)
namespaces = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
identities = st.builds(Identity, namespaces, texts, texts)


def assert_kubernetes_safe(name: str) -> None:
    assert len(name) <= SDEP_MAX == 42
    assert DNS_1035.match(name), name
    for kind, derived in derived_names(name).items():
        assert len(derived) <= 63, (kind, derived)
    for predictor in ("default", "canary"):
        names = derived_names(name, predictor)
        assert DNS_1035.match(names["predictor_service"]) and DNS_1035.match(names["container_service"])
        assert DNS_1123.match(names["deployment"])


@settings(max_examples=400, deadline=None)
@given(st.lists(identities, min_size=2, max_size=30, unique=True))
def test_distinct_identities_never_share_a_name(many):
    names = [deployment_name(identity) for identity in many]
    assert len(set(names)) == len(many)
    for name in names:
        assert_kubernetes_safe(name)


@settings(max_examples=200, deadline=None)
@given(identities)
def test_the_same_identity_always_gets_the_same_name(identity):
    copy = Identity(identity.namespace, identity.model, identity.version)
    assert deployment_name(identity) == deployment_name(copy)


def test_names_that_differ_only_after_truncation_stay_distinct():
    base = "x" * 180
    a = deployment_name(Identity("default", base + "-model-a", "v1"))
    b = deployment_name(Identity("default", base + "-model-b", "v1"))
    assert a != b and a[:31] == b[:31]
    assert_kubernetes_safe(a)


def test_case_dots_underscores_and_unicode():
    names = {
        deployment_name(Identity("default", model, "v1"))
        for model in ("MNIST", "mnist", "mn.ist", "mn_ist", "mn-ist", "mnïst", "数字")
    }
    assert len(names) == 7
    assert deployment_name(Identity("default", "MNIST Digits", "V1.2")).startswith("mnist-digits-v1-2-")
    assert deployment_name(Identity("default", "数字", "1")).startswith("m-1-")  # no letters: prefixed
    for name in names:
        assert_kubernetes_safe(name)


def test_namespace_and_version_are_part_of_the_identity():
    one = Identity("default", "mnist", "v1")
    assert deployment_name(one) != deployment_name(Identity("prod", "mnist", "v1"))
    assert deployment_name(one) != deployment_name(Identity("default", "mnist", "v2"))
    # the fields cannot run together: ("ab", "c") is not ("a", "bc")
    assert deployment_name(Identity("default", "mnist-v", "1")) != deployment_name(Identity("default", "mnist", "v1"))


def test_fit_never_leaves_a_trailing_dash():
    assert fit("abc-def", "1234", 9) == "abc-1234"
    assert fit("---", "1234", 20) == "1234"
    assert slug("  Hello, World!  ") == "hello-world"


@settings(max_examples=200, deadline=None)
@given(texts)
def test_label_values_are_valid(text):
    value = label_value(text)
    assert len(value) <= 63
    assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", value)
