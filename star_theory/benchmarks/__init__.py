"""Side-by-side speed benchmarks shipped with the package (``rlstar bench NAME``).

Each compares two implementations of one workload in one run and prints both timings and their
ratio (``--format json`` for a machine-readable result, ``--min-ratio`` for an exit status):

* :mod:`.sampler`: the vectorised chain sampler and STaR iteration against a per-chain
  ``Generator.choice`` loop, in one process;
* :mod:`.corpus`: ``rlstar corpus`` as a whole process against a straightforward reference
  generator (:mod:`.reference_corpus`) as its own process, on the same workload.

The LLM backend's throughput benchmark is ``rlstar llm bench`` (:mod:`llm.bench`).
"""

BENCHMARKS = ("sampler", "corpus")
"""The names ``rlstar bench`` takes; each is a module here with ``add_arguments`` and ``main``."""
