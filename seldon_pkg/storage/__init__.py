"""Model storage: where a model's files live when they are not baked into its image.

``uri.py`` reads and checks a spec's ``storage_uri``; ``fetch.py`` brings it onto this machine
for the local runtime (cached, checksummed, atomic); the platforms' manifests (platforms/)
hand the same URI to each platform's own storage initializer.
"""
