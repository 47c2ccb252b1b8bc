"""The chat tab: the pane, its widgets, the controller that owns a conversation, and its dialogs."""
