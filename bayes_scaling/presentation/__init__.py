"""Layer 6, presentation: summaries, number formatting, plots, the report and the CLI.

Imports any layer below; nothing below imports it.
"""
