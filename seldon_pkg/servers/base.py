"""What a model server is to the rest of seldon_pkg (see the package docstring)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

LOCAL_LAUNCHERS = Path(__file__).resolve().parents[1] / "local"
"""Where the launcher scripts live that the local runtime runs in a model's environment (they
are run by file path, not imported, so the environment needs no seldon_pkg)."""
DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class LocalLaunch:
    """What the local runtime decided for one start of one model: the kind turns it into a
    command line and an environment."""

    name: str
    """The deployment name (the model's name inside an OIP server)."""
    spec: ModelSpec
    python: Path
    http_port: int
    grpc_port: int
    metrics_port: int
    workdir: Path
    """A folder of this start's own (settings files); removed by ``clean_up``."""


class ServerKind:
    """One model server; subclasses fill in what differs."""

    name: ClassVar[str]
    """Its command's name, as people know it (``seldon-core-microservice``, ``mlserver``)."""
    protocol: ClassVar[Protocol]
    requirements: ClassVar[tuple[str, ...]]
    """The server and the pins it needs, installed with the model's own requirements."""
    no_deps: ClassVar[tuple[str, ...]] = ()
    """Installed afterwards with ``pip install --no-deps`` (a server whose own pins we override)."""
    constraints_name: ClassVar[str]
    """The constraints file (in ``seldon_pkg/data``) of this server's environments."""
    image_ports: ClassVar[str]
    """What the image's Dockerfile EXPOSEs."""

    @property
    def constraints(self) -> Path:
        return DATA / self.constraints_name

    def ready_path(self, model: str) -> str:
        """What answers 200 once the model can serve."""
        raise NotImplementedError

    def prediction_path(self, model: str) -> str:
        """The REST path of a prediction, after ``/seldon/<namespace>/<name>``."""
        raise NotImplementedError

    def command(self, launch: LocalLaunch) -> list[str]:
        """The local command line (run in the model's environment, as the leader of a new
        session); may write settings into ``launch.workdir``."""
        raise NotImplementedError

    def environment(self, launch: LocalLaunch) -> dict[str, str]:
        """Variables this server needs on top of what every model process gets (the spec's env
        still wins where it sets the same)."""
        return {"TF_CPP_MIN_LOG_LEVEL": launch.spec.env.get("TF_CPP_MIN_LOG_LEVEL", "2")}

    def serving_defaults(self, launcher: bool) -> dict[str, str]:
        """Environment defaults that keep a long-running process's memory bounded
        (``seldon_pkg.servers.serving_defaults``); ``launcher``: under our local launcher."""
        return {}

    def clean_up(self, launch: LocalLaunch) -> None:
        """Remove what ``command`` wrote for this start."""

    def image_entrypoint(self, spec: ModelSpec) -> list[str]:
        """The image's ENTRYPOINT (exec form)."""
        raise NotImplementedError

    def write_image_files(self, spec: ModelSpec, context: Path, model_name: str) -> None:
        """Files the image's server needs beside the model folder (settings)."""


def python_path(*folders: Path) -> str:
    return os.pathsep.join(str(folder) for folder in folders)
