r"""The chains of one STaR iteration as a dataset: ``iter_TTT/chains.parquet``.

**Distinct chains with counts.** An iteration samples ``K`` chains per question (at paper-cpu
scale 64 questions x 4,096 = 262,144 chains), most of them repeats: the file holds one row per
distinct (chain, kept) pair and the number of sampled chains it stands for (``count``), a few
thousand rows instead of 262k, and loses nothing: repeating every row ``count`` times gives back
the multiset of sampled chains, and doing so for the rows with ``kept`` true gives back exactly
the chains of ``kept.npy`` (whatever the keep filter; a chain some of whose copies were kept and
others not has one row of each).

Columns (``N`` steps; a state after an invalid step is null):

* ``s0`` .. ``sN`` (int64): the chain's state indices (``s0`` the question, ``sN`` the answer);
* ``question`` (string): ``s0`` in the task's string form (:class:`llm.tasks.TextTask`);
* ``step_1`` .. ``step_{N-1}`` (string): the intermediate states' strings;
* ``answer`` (string): ``sN``'s string (null for an invalid chain);
* ``correct`` (bool): the answer is the question's correct answer;
* ``kept`` (bool): the chains of this row were kept (trained on at the next iteration);
* ``count`` (int64): how many of the iteration's sampled chains this row stands for;
* ``logprob`` (float64): the sampling model's log-probability of the chain as the sampler drew
  it, :math:`\sum_n \log q_n(s_n \mid s_{n-1})` at the sampling temperature (over its valid steps
  for an invalid chain), averaged over its sampled copies (they agree up to float rounding).

The file's schema metadata (key ``rlstar``, :func:`star_theory.io.parquet_bytes`) holds the
format ``rlstar-chains/1``, the task, the iteration and the totals of chains and kept chains.
``datasets.load_dataset("parquet", data_files=...)``, pandas and pyarrow read it as it is.
"""

from __future__ import annotations

import numpy as np

from star_theory.io import parquet_bytes

from .data import row_keys, row_radix

CHAINS_FILE = "chains.parquet"
CHAINS_FORMAT = "rlstar-chains/1"


def chain_rows(states: np.ndarray, logprob: np.ndarray, kept: np.ndarray) -> dict[str, np.ndarray]:
    """Distinct (chain, kept) rows of the sampled chains ``states`` ``(C, N+1)`` (``-1`` after an
    invalid step) and their log-probabilities ``(C,)``, of which the chains ``kept`` ``(k, N+1)``
    were kept: ``states`` (distinct rows), ``kept`` (bool), ``count`` and ``logprob`` (the mean
    over the row's sampled copies; NaN for a kept chain never sampled), sorted by chain, then kept.

    Per distinct chain ``c`` sampled ``n_c`` times and kept ``k_c`` times: a row ``(c, kept=True,
    count=k_c)`` when ``k_c > 0`` and a row ``(c, kept=False, count=n_c - k_c)`` when that is positive.
    """
    states, kept = np.asarray(states, dtype=np.int64), np.asarray(kept, dtype=np.int64)
    C, width = states.shape
    if kept.size == 0:
        kept = kept.reshape(0, width)
    if kept.ndim != 2 or kept.shape[1] != width or np.shape(logprob) != (C,):
        raise ValueError(f"kept {kept.shape} and logprob {np.shape(logprob)} do not match chains {states.shape}")
    both = np.concatenate([states, kept])
    _, first, inverse = np.unique(_row_keys(both), return_index=True, return_inverse=True)
    distinct, inverse = both[first], inverse.reshape(-1)
    n = np.bincount(inverse[:C], minlength=len(distinct))
    k = np.bincount(inverse[C:], minlength=len(distinct))
    total = np.bincount(inverse[:C], weights=np.asarray(logprob, dtype=float), minlength=len(distinct))
    mean = np.divide(total, n, out=np.full(len(distinct), np.nan), where=n > 0)
    rest = n - k
    row = np.concatenate([np.flatnonzero(rest > 0), np.flatnonzero(k > 0)])
    flag = np.concatenate([np.zeros(int((rest > 0).sum()), bool), np.ones(int((k > 0).sum()), bool)])
    count = np.concatenate([rest[rest > 0], k[k > 0]])
    order = np.lexsort((flag, row))
    row, flag, count = row[order], flag[order], count[order]
    return {"states": distinct[row], "kept": flag, "count": count, "logprob": mean[row]}


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One sortable key per row of integers ``>= -1``: :func:`llm.data.row_keys`, or, when that would
    overflow int64, the row itself as a structured scalar (compared field by field; slower to sort)."""
    if rows.size == 0:
        return np.zeros(len(rows), dtype=np.int64)
    radix = row_radix(rows)
    if radix is None:
        fields = [(f"s{j}", rows.dtype) for j in range(rows.shape[1])]
        return np.ascontiguousarray(rows).view(fields)[:, 0]
    return row_keys(rows, radix)


def chain_columns(rows: dict[str, np.ndarray], text_task) -> dict:
    """The columns of ``chains.parquet`` (module docstring) from :func:`chain_rows`, as pyarrow arrays."""
    import pyarrow as pa  # a large library: only where the chain file is written

    s, N = rows["states"], text_task.n_steps
    valid = s >= 0
    task = text_task.task

    def text(n):
        strings = np.asarray(text_task.state_strings(n), dtype=object)
        return pa.array(np.where(valid[:, n], strings[np.maximum(s[:, n], 0)], None), type=pa.string())

    columns = {f"s{n}": pa.array(s[:, n], mask=~valid[:, n], type=pa.int64()) for n in range(N + 1)}
    columns["question"] = text(0)
    columns.update({f"step_{n}": text(n) for n in range(1, N)})
    columns["answer"] = text(N)
    columns["correct"] = pa.array(valid[:, N] & (s[:, N] == task.answers[s[:, 0]]))
    columns["kept"] = pa.array(rows["kept"])
    columns["count"] = pa.array(rows["count"].astype(np.int64))
    columns["logprob"] = pa.array(rows["logprob"], mask=np.isnan(rows["logprob"]), type=pa.float64())
    return columns


def chains_parquet(chains, kept: np.ndarray, text_task, iteration: int) -> bytes:
    """``chains.parquet`` of an iteration: its sampled ``chains`` (:class:`llm.sample.SampledChains`)
    and the chains ``kept`` (``kept.npy``), on ``text_task``."""
    rows = chain_rows(chains.states, chains.logprob, kept)
    meta = {"format": CHAINS_FORMAT, "task": text_task.name, "params": dict(text_task.params),
            "n_steps": text_task.n_steps, "level_sizes": list(text_task.task.sizes), "iteration": int(iteration),
            "chains": int(len(chains.states)), "kept": int(len(kept))}
    return parquet_bytes(chain_columns(rows, text_task), meta)
