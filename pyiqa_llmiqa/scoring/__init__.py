"""Stage 4 and 5: from what an engine answered to a score per crop (``reading``), and the fused score per image (``fusion``)."""
