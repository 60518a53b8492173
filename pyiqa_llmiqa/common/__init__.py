"""Small helpers every layer uses: atomic file writes, the Hugging Face hub and cache, devices and
dtypes, did-you-mean hints, escaped paths, and what differs between the transformers releases the
package admits (``compat``). Nothing here imports another part of the package."""
