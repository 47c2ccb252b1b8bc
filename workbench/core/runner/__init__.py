"""The owner thread of every MLX call, its request handlers, and the blocking client over it."""
