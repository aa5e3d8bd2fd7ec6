"""llm: real STaR on a GPT-2-style transformer, measured in the quantities star_theory predicts.

See ``docs/llm.md``. Entry points: ``rlstar llm {pretrain,star,measure,run,bench}`` (``llm.cli``),
and the functions ``llm.pretrain.pretrain``, ``llm.star.run_star``, ``llm.measure.measure``,
``llm.sample.sample_chains``. Importing this package does not import torch or transformers.
"""
