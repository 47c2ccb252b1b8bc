"""Screens (modal dialogs and full-screen views) of the workbench."""
