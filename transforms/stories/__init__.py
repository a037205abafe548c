"""transforms.stories."""
