"""Stages 4 and 5: from an engine's answers to a score per crop (``reading``), and from those to
one score per image (``fusion``). A new reading rule goes in ``reading``."""
