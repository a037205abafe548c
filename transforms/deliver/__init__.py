"""transforms.deliver."""
