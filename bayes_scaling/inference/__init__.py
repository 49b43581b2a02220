"""Layer 3, inference: the settings object, sampling with nutpie, the diagnostics gate, the fit
record and its storage.

Imports only the layers below. The fit record (:class:`~.record.FitRecord`) is a plain record:
questions take it as an argument; it knows nothing of them.
"""
