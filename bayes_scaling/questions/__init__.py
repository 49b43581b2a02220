"""Layer 4, questions: predict, compute-optimal allocation, budgets and risk.

Pure numpy/xarray functions of a fit record's posterior draws: they never sample, never refit and
never import PyMC. Imports only the layers below.
"""
