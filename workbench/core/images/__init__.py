"""Images for vision models: reading, fetching and bounding them before a model sees them."""
