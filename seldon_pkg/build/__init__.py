"""The last pipeline stage: what an image (or a Seldon Core 2 artifact) of a model holds
(``image_context``), what it installs (``requirements``, from the model's server kind), the
MLServer settings, the model folder's containment rules, the serving defaults, and the
advisories its resolved set still matches. Imports nothing on its own."""
