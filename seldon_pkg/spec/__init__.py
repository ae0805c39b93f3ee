"""The first pipeline stage: a model spec read, validated field by field, and checked against
its source (``model_spec``: the spec; ``pip_requirements``; ``text_sinks``: one escaping rule
per output; ``accelerator``; ``preflight``: the class and its parameters). Imports nothing on
its own."""
