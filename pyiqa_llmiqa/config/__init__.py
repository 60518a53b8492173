"""What a metric is asked to do: its options and their checks, the quality standards (prompts),
SAM2 model names and the presets. Loads no model; the layer right above ``errors`` and ``common``."""
