"""The first pipeline stage: a model spec read, validated field by field, and checked against
its source (``model_spec``: the spec; ``pip_requirements``; ``accelerator``; ``platform_rules``:
what a spec must say to go on each platform; ``preflight``: the class and its parameters).
It imports no platform module: the platforms take their rules from ``platform_rules``.
Imports nothing on its own."""
