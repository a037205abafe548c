"""transforms.watch."""
