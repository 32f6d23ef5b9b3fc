"""The `kehu` command line."""
