"""A model as a tabular policy: stochastic rows, and the sampler draws from the measured kernel."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from llm.data import ChainStream  # noqa: E402
from llm.device import generator  # noqa: E402
from llm.train import train  # noqa: E402
from star_theory import mixture_policy  # noqa: E402
from llm.measure import measure  # noqa: E402
from llm.model import build_model  # noqa: E402
from llm.sample import sample_chains  # noqa: E402
from llm.tasks import get_task  # noqa: E402
from llm.tokenizer import build_tokenizer, state_table  # noqa: E402
from star_theory import accuracy  # noqa: E402


@pytest.fixture(scope="module", params=["state", "symbol"])
def untrained(request):
    torch.set_num_threads(1)
    tt = get_task("zip", 1, 3)  # N = 1, M = 9
    tok = build_tokenizer(tt, request.param)
    table = state_table(tt, tok)
    torch.manual_seed(0)
    model = build_model("tiny", len(tok), tok, init_range=0.3)
    # a few steps on a corpus teach the format (valid states, then <eos>); the kernel stays arbitrary
    stream = ChainStream(table, tt.task, 32, 0, policy=mixture_policy(tt.task, lam=0.5))
    train(model, iter(stream.next_batch, None), 30, 1e-2, torch.device("cpu"))
    return tt, table, model.eval()


def test_kernel_rows_are_stochastic(untrained):
    tt, table, model = untrained
    m = measure(model, tt, table, torch.device("cpu"))
    for k, size in zip(m.policy.kernels, tt.task.sizes[1:]):
        assert k.shape[1] == size
        assert np.allclose(k.sum(axis=1), 1.0)
    assert np.all((m.valid_mass > 0) & (m.valid_mass <= 1 + 1e-9))
    assert m.exact_accuracy == pytest.approx(accuracy(m.policy, tt.task))
    lo = -1 / (tt.task.sizes[1] - 1)
    assert np.all((m.lam >= lo - 1e-12) & (m.lam <= 1)) and np.all((m.distance >= 0) & (m.distance <= 1))


def test_sampler_draws_from_the_measured_kernel(untrained):
    """Re-generating invalid steps samples the kernel conditioned on validity: frequencies match it."""
    tt, table, model = untrained
    m = measure(model, tt, table, torch.device("cpu"))
    K = 800
    questions = np.repeat(np.arange(tt.task.sizes[0]), K)
    chains = sample_chains(model, table, questions, generator(torch.device("cpu"), 1), torch.device("cpu"),
                           max_retries=20)
    assert chains.valid.all()
    # every draw is either the accepted one of a chain or a counted invalid one: (L + 1) tokens each
    L = table.ids[1].shape[1]
    assert chains.generated_tokens == (questions.size + chains.invalid_steps) * (L + 1)
    # re-drawing until valid is geometric: E[invalid] = K sum_s (1 - v_s) / v_s >= K M (1 - v) / v (Jensen,
    # v = the measured mean valid mass), with variance about E / v; a count far below the bound is a miscount
    v = float(m.valid_mass[0])
    bound = questions.size * (1 - v) / v
    assert chains.invalid_steps >= bound - 5 * np.sqrt(bound / v)
    kernel = m.policy.kernels[0]
    for s in range(tt.task.sizes[0]):
        counts = np.bincount(chains.states[chains.states[:, 0] == s, 1], minlength=kernel.shape[1])
        se = np.sqrt(kernel[s] * (1 - kernel[s]) / K)
        assert np.all(np.abs(counts / K - kernel[s]) <= 5 * se + 1e-3)
