"""What is scored: image files, PIL images and tensors turned into upright 8-bit RGB images, or a clear error."""
