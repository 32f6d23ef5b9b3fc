"""The store Counter: lookup, quick add, store visits and purchases."""
