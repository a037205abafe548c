"""transforms.batch."""
