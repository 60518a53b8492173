"""Small helpers every layer uses: files written atomically, the Hugging Face hub and cache, devices and dtypes, names."""
