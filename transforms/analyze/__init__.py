"""transforms.analyze."""
