"""The prefix-tree sampler draws from the token-by-token law: chi-square tests on one small model.

The model is trained only a few steps, so its kernels are arbitrary and a sizeable share of its
outputs are invalid (retries and invalid chains happen). Thresholds are chi-square quantiles at
significance 1e-3 (Bonferroni over steps), with degrees of freedom from the observed categories.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from scipy.stats import chi2  # noqa: E402

from llm.data import ChainStream  # noqa: E402
from llm.device import generator  # noqa: E402
from llm.measure import measure  # noqa: E402
from llm.model import build_model  # noqa: E402
from llm.sample import failures_before_valid, sample_chains  # noqa: E402
from llm.tasks import get_task  # noqa: E402
from llm.tokenizer import build_tokenizer, state_table  # noqa: E402
from llm.train import train  # noqa: E402
from star_theory import mixture_policy  # noqa: E402

ALPHA = 1e-3
CPU = torch.device("cpu")


@pytest.fixture(scope="module", params=[("state", 2, 2), ("symbol", 1, 3)], ids=["state-zipD2", "symbol-zipD1"])
def half_trained(request):
    tokenization, digits, base = request.param
    torch.set_num_threads(1)
    tt = get_task("zip", digits, base)
    tok = build_tokenizer(tt, tokenization)
    table = state_table(tt, tok)
    torch.manual_seed(0)
    model = build_model("tiny", len(tok), tok, init_range=0.3)
    stream = ChainStream(table, tt.task, 32, 0, policy=mixture_policy(tt.task, lam=0.5))
    train(model, iter(stream.next_batch, None), 12, 1e-2, CPU)  # format half learnt: many invalid outputs
    return tt, table, model.eval()


def _categories(chains, n):
    """One category per chain at step n: (s_{n-1}, s_n), s_n = -1 when the step failed, (-2, -2) when dead before."""
    s = chains.states
    prev = np.where(s[:, n - 1] >= 0, s[:, n - 1], -2)
    nxt = np.where(prev >= 0, s[:, n], -2)
    return prev * 10_000 + nxt


def homogeneity(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Chi-square statistic and degrees of freedom of the 2 x k homogeneity test of two category samples.

    Categories with an expected count below 5 in either sample are pooled into one.
    """
    cats, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    table = np.stack([np.bincount(inv[: a.size], minlength=cats.size), np.bincount(inv[a.size:], minlength=cats.size)])
    expected = table.sum(axis=0) * (table.sum(axis=1, keepdims=True) / table.sum())
    rare = expected.min(axis=0) < 5
    if rare.any():
        table = np.concatenate([table[:, ~rare], table[:, rare].sum(axis=1, keepdims=True)], axis=1)
        table = table[:, table.sum(axis=0) > 0]
        expected = table.sum(axis=0) * (table.sum(axis=1, keepdims=True) / table.sum())
    return float(((table - expected) ** 2 / expected).sum()), table.shape[1] - 1


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_trie_and_token_samplers_agree(half_trained, temperature):
    tt, table, model = half_trained
    K = 400 if tt.task.n_steps > 1 else 1500
    questions = np.repeat(np.arange(tt.task.sizes[0]), K)
    runs = {
        name: sample_chains(model, table, questions, generator(CPU, seed), CPU, max_retries=1, sampler=name,
                            temperature=temperature)
        for name, seed in (("token", 1), ("trie", 2))
    }
    if temperature == 1.0:
        assert (~runs["token"].valid).sum() > 0  # the test exercises invalid chains
    N = tt.task.n_steps
    for n in range(1, N + 1):
        stat, df = homogeneity(_categories(runs["token"], n), _categories(runs["trie"], n))
        assert stat <= chi2.ppf(1 - ALPHA / N, df), (n, stat, df)
    # per-chain invalid attempts and generated tokens: same mean. A per-chain count in [0, B] has
    # variance <= B^2/4, so the difference of two means of n chains has sd <= B sqrt(2/n) / 2.
    R, n_chains = 1, questions.size
    bounds = {"invalid_steps": N * (R + 1),
              "generated_tokens": sum((R + 1) * (table.ids[k].shape[1] + 1) for k in range(1, N + 1))}
    for key, B in bounds.items():
        x, y = getattr(runs["token"], key) / n_chains, getattr(runs["trie"], key) / n_chains
        assert abs(x - y) <= 5 * B * np.sqrt(2 / n_chains) / 2, (key, x, y)


def test_trie_draws_the_measured_kernel(half_trained):
    """Goodness of fit of the trie's transition counts to the exact kernel, and its invalid rate."""
    tt, table, model = half_trained
    m = measure(model, tt, table, CPU)
    K, R = 4000, 1
    questions = np.repeat(np.arange(tt.task.sizes[0]), K)
    chains = sample_chains(model, table, questions, generator(CPU, 3), CPU, max_retries=R, sampler="trie")
    stat, df = 0.0, 0
    for n, kernel in enumerate(m.policy.kernels, start=1):
        s, s2 = chains.states[:, n - 1], chains.states[:, n]
        ok = (s >= 0) & (s2 >= 0)
        counts = np.zeros_like(kernel)
        np.add.at(counts, (s[ok], s2[ok]), 1)
        for obs, exp in zip(counts, counts.sum(axis=1, keepdims=True) * kernel):
            if obs.sum() == 0:
                continue
            big = exp >= 5  # cells with expected count < 5 pooled into one per row
            o = np.append(obs[big], obs[~big].sum())
            e = np.append(exp[big], exp[~big].sum())
            keep = e > 0
            stat += float(((o[keep] - e[keep]) ** 2 / e[keep]).sum())
            df += int(keep.sum()) - 1
    assert stat <= chi2.ppf(1 - ALPHA, df), (stat, df)
    # step 1 fails with probability (1 - v(s0))^(R+1): binomial check per question
    logq = m.log_scores[0]
    p_fail = (1 - np.exp(logq).sum(axis=1)) ** (R + 1)
    failed = np.bincount(questions[chains.states[:, 1] < 0], minlength=p_fail.size) / K
    se = np.sqrt(p_fail * (1 - p_fail) / K)
    assert np.all(np.abs(failed - p_fail) <= 5 * se + 1 / K), (failed, p_fail)


@pytest.mark.parametrize("v", [0.0, 0.05, 0.5, 0.97, 1.0])
def test_failures_before_valid_is_truncated_geometric(v):
    R, n = 3, 200_000
    f = failures_before_valid(np.full(n, v), 1.0 - np.random.default_rng(0).random(n), R)
    assert f.min() >= 0 and f.max() <= R + 1
    for k in range(R + 2):  # Pr(F >= k) = (1 - v)^k
        p = (1 - v) ** k
        assert abs((f >= k).mean() - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12, (k, (f >= k).mean(), p)
