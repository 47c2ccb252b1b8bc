"""The model pool: what is loaded, what fits, what is evicted, and the budget it answers to."""
