"""The check on scorers' output: the fast test for rows of plain floats against the general per-value test."""
from __future__ import annotations

import math
import numbers

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from moderation.scoring import _check

VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0.0, 1.0), st.integers(-2, 2),
                   st.booleans(), st.sampled_from([np.float64(0.5), np.float32(2.0), np.float64("nan"), "0.5", None,
                                                   -0.0, 1.0, 0.0, 5e-324]))


def _reference(row: object) -> bool:
    """The check as it was, value by value."""
    return isinstance(row, dict) and all(isinstance(v, numbers.Real) and math.isfinite(v) and 0.0 <= v <= 1.0
                                         for v in row.values())


@settings(max_examples=500, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["toxicity", "insult", "threat"]), VALUES), max_size=4))
@example([{"toxicity": 0.5, "insult": math.nan}])  # min and max of these skip the NaN
@example([{"toxicity": math.nan, "insult": 0.5}])
def test_rows_pass_exactly_when_every_value_is_a_probability(rows):
    if all(map(_reference, rows)):
        _check(rows, len(rows))
    else:
        with pytest.raises(ValueError):
            _check(rows, len(rows))
