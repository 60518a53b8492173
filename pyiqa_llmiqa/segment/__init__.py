"""Stage 1 and 2: SAM2 masks of an image (``segmenter``), cached on disk (``mask_cache``), and the regions cut from them (``regions``)."""
