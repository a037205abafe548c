"""transforms.throttle."""
