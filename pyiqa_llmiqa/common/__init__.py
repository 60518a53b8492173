"""Small helpers every layer uses: atomic file writes, the Hugging Face hub and cache, devices and
dtypes, did-you-mean hints. Nothing here imports another part of the package."""
