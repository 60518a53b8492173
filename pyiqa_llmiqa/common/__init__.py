"""Small helpers every layer uses: atomic file writes, the Hugging Face hub and cache, devices and
dtypes, did-you-mean hints, what differs between transformers releases (compat) and the pyiqa
internals the plugin relies on (pyiqa_internals). Nothing here imports another part of the package
but its errors."""
