"""The embeddings tab: texts, the similarity heatmap, neighbours and the colour scale."""
