"""String forms of the tasks: every state of every level <-> its string, and what the strings say."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import InputError
from llm.tasks import get_task

SHAPES = [(name, D, b) for name in ("zip", "add") for D in (1, 2, 3) for b in (2, 3)]


@pytest.mark.parametrize("name,D,b", SHAPES)
def test_every_state_round_trips(name, D, b):
    tt = get_task(name, D, b)
    for n in range(tt.n_steps + 1):
        strings = tt.state_strings(n)
        assert len(strings) == tt.task.sizes[n]
        assert len({len(s) for s in strings}) == 1  # one length per level
        assert [tt.parse_state(n, s) for s in strings] == list(range(len(strings)))


@pytest.mark.parametrize("name,D,b", SHAPES)
def test_strings_spell_the_digits(name, D, b):
    """Each digit label sits at its template position with the value the tabular view decodes."""
    tt = get_task(name, D, b)
    for n, template in enumerate(tt.templates):
        labels = tt.levels.labels[n]
        digits = tt.levels.decode(n, np.arange(tt.task.sizes[n]))
        for i, s in enumerate(tt.state_strings(n)):
            for ch, item in zip(s, template):
                assert ch == (str(digits[i, labels.index(item)]) if item in labels else item)


def _number(s, b):
    return int(s, b) if s else 0


@pytest.mark.parametrize("D,b", [(1, 2), (2, 3), (3, 2)])
def test_add_answer_is_the_sum(D, b):
    tt = get_task("add", D, b)
    for s0 in range(tt.task.sizes[0]):
        x, y = tt.state_string(0, s0).split("+")
        c, z = tt.state_string(D, tt.task.answers[s0]).split("|")[1:]
        assert _number(c + z, b) == _number(x, b) + _number(y, b)


@pytest.mark.parametrize("D,b", [(1, 2), (2, 3), (3, 2)])
def test_zip_answer_interleaves(D, b):
    tt = get_task("zip", D, b)
    for s0 in range(tt.task.sizes[0]):
        _, x, y = tt.state_string(0, s0).split("|")
        answer = tt.state_string(D, tt.task.answers[s0])
        assert answer == "".join(a + c for a, c in zip(x, y)) + "||"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["zip", "add"]), st.integers(1, 2), st.text(alphabet="012|+x", max_size=8))
def test_other_strings_are_not_states(name, D, text):
    tt = get_task(name, D, 2)
    for n in range(D + 1):
        idx = tt.parse_state(n, text)
        assert idx is None or tt.state_string(n, idx) == text


def test_bad_task_inputs():
    with pytest.raises(InputError):
        get_task("mul", 2, 2)
    with pytest.raises(InputError):
        get_task("zip", 1, 11)  # no one-character digits
    with pytest.raises(InputError):
        get_task("zip", 2, 2).state_string(5, 0)
