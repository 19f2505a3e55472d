"""Pure changes to how a design is reviewed: waivers of warnings and per-design rule settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ml_systemization.errors import InvalidChangeError
from ml_systemization.findings import registry
from ml_systemization.model import Design, Waiver
from ml_systemization.settings import RuleSettings


def apply_review_options(
    design: Design,
    *,
    waive: Mapping[str, str],
    unwaive: Sequence[str],
    settings: Mapping[str, float | None],
    actor: str | None,
    now: dt.datetime,
) -> Design:
    """Return a new design with warnings waived or un-waived and rule settings overridden.

    `waive` maps a rule id to the written reason. Errors cannot be waived: they mark a design
    that is unsafe or unverifiable. A `None` setting value drops the override.
    Raises InvalidChangeError, naming what to do instead, and changes nothing.
    """
    waivers = {w.id: w for w in design.waivers}
    for rule_id in unwaive:
        if rule_id not in waivers:
            held = ", ".join(waivers) or "none"
            raise InvalidChangeError(f"{rule_id} is not waived (waived: {held}).")
        del waivers[rule_id]
    for rule_id, reason in waive.items():
        rule = registry().get(rule_id)
        if rule is None:
            raise InvalidChangeError(
                f"Unknown rule {rule_id!r}; use the rule_id of a finding from review_design."
            )
        if rule.severity == "error":
            raise InvalidChangeError(
                f"{rule_id} is an error and cannot be waived: an error marks a design that is "
                "unsafe or unverifiable. Fix it instead (review_design gives the fix)."
            )
        waivers[rule_id] = Waiver(id=rule_id, reason=reason, by=actor, at=now)
    overrides = dict(design.rule_settings)
    for key, value in settings.items():
        if key not in RuleSettings.model_fields:
            raise InvalidChangeError(
                f"Unknown rule setting {key!r}; known: {', '.join(RuleSettings.model_fields)}."
            )
        if value is None:
            overrides.pop(key, None)
        else:
            overrides[key] = value
    RuleSettings.model_validate(overrides)  # every override must be a valid setting value
    return design.model_copy(update={"waivers": list(waivers.values()), "rule_settings": overrides})
