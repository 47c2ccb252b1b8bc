"""The UI-free core: catalog, detection, GGUF import, engines, pool and runner.

Nothing here imports Textual or Rich; MLX packages are imported lazily, inside the
engines, on the runner's owner thread.
"""
