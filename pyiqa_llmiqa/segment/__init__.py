"""Stages 1 and 2: SAM2's masks of an image (``segmenter``, ``lean_mask_generator``, kept on disk by
``mask_cache``), and the regions cut from them (``regions``)."""
