"""The local runtime: one gateway in front of many model servers, with the cluster's URLs.

A model runs in its own process group (``seldon-core-microservice`` for the Seldon protocol,
``mlserver start`` for OIP) or, when its environment matches others', as one model of a shared
MLServer process; the gateway starts, health-checks, restarts and stops them.

The gateway
``server``         ``seldon-pkg serve``: the gateway in the foreground until SIGINT/SIGTERM
``gateway``        which deployments exist, which process serves each, and their lifecycle
``rest``           REST front end: Seldon's and OIP's URLs, proxied to model processes
``grpc_router``    gRPC front end: ``seldon.protos.*`` and ``inference.GRPCInferenceService``
``resolution``     which deployment a data-plane request means, one rule for both transports
``dataplane``      the server's own health (live, ready), one answer for both transports
``upstream``, ``http11``  the keep-alive HTTP/1.1 hop to a model process
``oip_binary``, ``protowire``  OIP's binary tensor extension; the protobuf facts gRPC needs
``control``, ``control_wire``, ``client``  the control API (loopback, bearer token), its wire
                   format, and the client ``LocalTarget`` uses

Served models
``served``         the one face both kinds show the gateway (``ServedModel``)
``process``        one model, one model-server process group, supervised; the restart backoff
                   and the per-run log header both kinds use
``shared``         the OIP models of one environment in one MLServer process
``environments``   per-model Python environments built from the model's requirements
``waiting``        waiting for a started server: it answers, it exits, or time runs out
``registry``       the deployments, persisted on disk so a restarted gateway restores them
``state``          the state folder shared by ``serve`` and every ``--target local`` command
``ostools``        loopback ports and process groups

Run inside a model's environment (no import of the rest of the library)
``loopback``       makes seldon-core 1.17.1 bind 127.0.0.1
``mlserver_launcher``  ``mlserver start FOLDER`` for one OIP model or a shared server
``orphan_watch``   a model process group ends itself when the gateway disappears
``memory_trace``   opt-in tracemalloc snapshots (memory investigations)
"""
