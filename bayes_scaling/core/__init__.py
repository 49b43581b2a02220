"""Layer 0, the base: errors, project constants, the one interval rule, and the machine's cores
and on/off environment switches.

Imports nothing else of the package. Every layer above may import it.
"""
