"""Names the server publishes before it loads the design models: artifacts and views.

`steps.ARTIFACTS` and `views.VIEWS` are these tuples; the server's completions and resource
checks use them from here so that start-up does not import the models.
"""

from __future__ import annotations

from typing import Literal, get_args

ArtifactName = Literal[
    "one_pager",
    "baseline_spec",
    "evaluation_plan",
    "rollout_plan",
    "monitoring_plan",
    "iteration_plan",
    "feature_card",
]
ARTIFACT_NAMES: tuple[ArtifactName, ...] = get_args(ArtifactName)

ViewName = Literal["observability", "orchestration"]
VIEW_NAMES: tuple[ViewName, ...] = get_args(ViewName)
