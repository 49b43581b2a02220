"""Layer 5, evaluation: the extrapolation discrepancy, backtests, scores, LOO comparison, SBC, the
classic point-fit baseline and many fits at once.

May sample (it refits) through :mod:`bayes_scaling.inference`, never through the facade.
"""
