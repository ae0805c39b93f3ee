"""seldon_pkg: one model spec drives local serving, manifests, images and cluster deploys."""

__version__ = "0.1.0"
