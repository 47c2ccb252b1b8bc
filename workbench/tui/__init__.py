"""Textual user interface of mlxbench. Never imports MLX (contract-enforced)."""
