"""Layer 4, questions: predict, compute-optimal allocation, budgets and risk.

Pure numpy/xarray functions of a fit record's posterior draws: they never sample, never refit and
never import PyMC. Imports only the layers below.
"""

# Every answer is a Dataset with the ``ds.scaling`` accessor (registered by this import).
from bayes_scaling.core import tables as _tables  # noqa: E402, F401
