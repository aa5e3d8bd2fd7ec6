"""Figures. ``style`` holds the shared look and the atomic PNG writer; one module per family of
figures (``theory``: trajectories of the exact operator and closed forms; ``simulation``:
finite-sample bands; ``phase``: pretrained-quality diagrams).

Conventions in every figure: theory (exact/closed form) is drawn as lines, measurements
(simulated or LLM) as markers with bands, and any axis showing the symmetric-family parameter
names its convention, ``lam`` or ``eps``.
"""
