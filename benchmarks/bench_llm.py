"""Sampling and training throughput of the LLM backend (JSON on stdout).

    python benchmarks/bench_llm.py [--preset tiny] [--tokenization symbol] [--device cpu] ...

is ``rlstar llm bench`` with the same flags. It prints chains/s for batched sampling, batched
sampling without the key/value cache and one-chain-at-a-time sampling, tokens/s of training,
and the ratios batched/unbatched and cache/no-cache; and, in the same run, chains/s of the exact
prefix-tree sampler against the token-by-token one (``ratio_trie_vs_token``) and transitions/s
of count-weighted against per-example fine-tuning (``ratio_weighted_vs_examples``).
"""

import sys

from llm.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
