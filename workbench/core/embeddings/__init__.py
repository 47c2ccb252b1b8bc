"""Embedding results turned into what the explorer shows: similarities and exports."""
