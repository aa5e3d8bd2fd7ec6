"""``python -m llm ARGS`` runs ``rlstar llm ARGS`` (e.g. under ``torchrun --nproc_per_node 2 -m llm pretrain ...``)."""

import sys

from .cli import main

sys.exit(main())
