"""Side-by-side benchmarks (run as scripts or through ``rlstar bench``); they print ratios."""
