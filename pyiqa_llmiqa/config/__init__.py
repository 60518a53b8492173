"""What a metric is asked to do: its options and their checks, the quality standards (prompts), SAM2 model names, presets.

The lowest layer above ``errors`` and ``common``: it loads no model and imports no torch at module level.
"""
