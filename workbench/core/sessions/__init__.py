"""Saved chat sessions: the store, the on-disk format, exports and guards."""
