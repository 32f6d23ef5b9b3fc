"""Import and export of customers and visits."""
