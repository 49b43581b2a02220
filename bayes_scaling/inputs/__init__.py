"""Layer 1, inputs: runs tables (reading, validation), formulas, priors, laws and data sets.

Imports only :mod:`bayes_scaling.core`.
"""
