"""transforms.ingest."""
