"""R15 over combinations, on both databases: any mix of working details and
family-agreed fields typed together on an active agreement is each saved at
once or held in the variation; none is dropped."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import models
from tracker.clock import utcnow
from tracker.models import Agreement
from tracker.records import drafting, fields, versions

BOUNDED = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Free-text fields of a partnership agreement's form, from the registry.
TEXTS = [f.name for f in fields.for_kind("partnership")
         if f.on_form and f.stored and f.kind in (fields.TEXT, fields.LINE) and f.name != "worker_phone"]


@BOUNDED
@given(chosen=st.sets(st.sampled_from(TEXTS), min_size=1, max_size=6), with_phone=st.booleans())
def test_every_field_typed_together_is_saved_or_held(app, people, make_agreement, chosen, with_phone):
    agreement = make_agreement(status="active")
    typed = drafting.form_data(agreement)
    typed["social_worker"] = agreement.social_worker_id
    for name in chosen:
        typed[name] = f"Typed for {name}"
    if with_phone:
        typed["worker_phone"] = "01632 960 777"
    versions.save_active(agreement, typed, people.worker, utcnow(), revision=agreement.revision)
    record = Agreement.get_by_id(agreement.id)
    variation = models.in_progress(record)
    held = json.loads(variation.data) if variation else {}
    for name in chosen | ({"worker_phone"} if with_phone else set()):
        if fields.field(name).agreed:
            assert held.get(name) == typed[name], f"{name} was not held in the variation"
            assert getattr(record, name) != typed[name], f"{name} changed what is in force"
        else:
            assert getattr(record, name) == typed[name], f"{name} was dropped"
