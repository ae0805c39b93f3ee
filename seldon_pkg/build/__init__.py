"""The image stage: what an image (or a Seldon Core 2 artifact) of a model holds
(``image_context``), what it installs (``requirements``, from the model's server kind), and the
advisories its resolved set still matches. The MLServer settings and serving defaults are the
servers' (``seldon_pkg.servers``); the model folder's containment rules are a shared leaf
(``seldon_pkg.model_folder``). Imports nothing on its own."""
