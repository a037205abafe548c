"""transforms.net."""
