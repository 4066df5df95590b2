"""The Textual TUI: screens, widgets and styles."""
