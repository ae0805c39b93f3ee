"""The model servers seldon_pkg runs a model with, one module each, listed once in ``registry``.

A :class:`~seldon_pkg.servers.base.ServerKind` holds everything that differs between them:
what to install (requirements, pins, constraints), how the local runtime starts one model
(command, environment), when it is ready, what to clean up after it, and how an image starts
it. The local runtime and the image builder ask the kind; neither branches on the protocol.
``mlserver_settings`` writes MLServer's settings files and ``serving_defaults`` holds the
memory-bounding environment defaults, for images and local processes alike.
This package imports nothing on its own.
"""
