"""``deployed()``: a model for the duration of a ``with`` block, then exactly what was there.

It records what the apply step did (``DeployOutcome``) and undoes only that:

* the deployment did not exist before: it is deleted on exit;
* it existed (same identity) and the block's deploy updated it: the previous revision is put
  back on exit, not deleted;
* a canary was added: only the canary predictor is removed, the stable model keeps serving;
* the failure came before anything was applied (invalid spec, refusal, API error): nothing
  is touched;
* it was applied but never became ready: what was applied (``NotReady.outcome``) is undone,
  then the error is raised; a local start that failed applied nothing (``unchanged``).

The policy defaults to ``keep`` so that entering the block never deletes the model's other
versions (``replace`` would, and they could not be brought back on exit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from seldon_pkg.errors import NotReady
from seldon_pkg.spec.model_spec import ModelSpec
from seldon_pkg.targets.base import DeploymentInfo, DeployOutcome, DeployPolicy, Target
from seldon_pkg.values import VersionPolicy


@contextlib.contextmanager
def deployed(
    target: Target, spec: ModelSpec, policy: DeployPolicy = DeployPolicy(mode=VersionPolicy.KEEP)
) -> Iterator[DeploymentInfo]:
    try:
        outcome = target.deploy(spec, policy)
    except NotReady as error:
        if isinstance(error.outcome, DeployOutcome):  # every target's NotReady carries one
            target.undo(error.outcome)
        raise
    try:
        yield outcome.info
    finally:
        target.undo(outcome)
