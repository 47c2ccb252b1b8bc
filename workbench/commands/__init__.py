"""Headless subcommands of ``mlxbench``, one module each (``add_parser`` + ``run``)."""
