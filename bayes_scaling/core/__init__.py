"""Layer 0, the base: errors, project constants and the one interval rule.

Imports nothing else of the package. Every layer above may import it.
"""
