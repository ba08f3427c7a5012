"""One small route module per resource."""
