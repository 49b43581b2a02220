"""Layer 2, the model: parameter plans, likelihoods, the PyMC graph, pooling and compilation.

Imports only the layers below (:mod:`~bayes_scaling.core`, :mod:`~bayes_scaling.inputs`).
"""
