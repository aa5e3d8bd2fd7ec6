"""Sampling and training throughput of the LLM backend (JSON on stdout).

    python benchmarks/bench_llm.py [--preset tiny] [--tokenization symbol] [--device cpu] ...

is ``rlstar llm bench`` with the same flags. It prints chains/s for batched sampling, batched
sampling without the key/value cache and one-chain-at-a-time sampling, tokens/s of training,
and the ratios batched/unbatched and cache/no-cache.
"""

import sys

from llm.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
