"""Importing GGUF files into MLX model folders (dequantising what MLX cannot read)."""
