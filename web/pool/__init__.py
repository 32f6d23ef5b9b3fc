"""The public pool (公海): claim, release, bulk reassign."""
