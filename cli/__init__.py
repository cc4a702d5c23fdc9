"""fw command line."""
