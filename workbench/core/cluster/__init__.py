"""Models sharded over several hosts with ``mlx.launch`` and mlx-lm's sharded loading.

- ``config``: ``[clusters.NAME]`` tables (hosts or an mlx.launch hostfile, backend,
  tensor / pipeline parallel, per-host memory), validated; ``local2`` is built in.
- ``plan``: each rank's share, computed with mlx-lm's own ``shard()`` / ``pipeline()`` on a
  lazily built model; refusals (heads not divisible, a host without room) before launch.
- ``launcher``: ``mlx.launch`` in its own process group, rank 0 on a loopback socket,
  teardown that leaves no process or port behind, dead-rank detection.
- ``worker``: the rank side (``sharded_load``, lockstep generation, rank 0 streams).
- ``engine``: the pool's chat engine for a sharded model; ``entry``: the commands' door.

The pool's process is never a rank. Only ``worker`` and ``plan`` import MLX, lazily.
"""
