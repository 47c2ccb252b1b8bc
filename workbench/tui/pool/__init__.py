"""The models pane: memory bar, loaded models, the model list, plans and load activity."""
