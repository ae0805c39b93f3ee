"""The local runtime: one gateway in front of many ``seldon-core-microservice`` processes.

``state``      where the runtime keeps its registry, token, logs and environments
``loopback``   the launcher that makes seldon-core 1.17.1 bind 127.0.0.1 (runs in model envs)
``environments`` per-model Python environments built from the model's requirements
``process``    one supervised model process: start, health, restart with backoff, stop
``registry``   the deployments, persisted on disk
``gateway``    REST and gRPC routing with the cluster's URL scheme, plus the control API
``client``     what the CLI uses to talk to a running gateway
"""
