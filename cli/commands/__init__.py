"""One module per ``fw`` subcommand; each exposes ``command``."""
