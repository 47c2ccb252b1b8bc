"""Finding models: the catalog, kind and family detection, names, demo and synthetic models."""
