"""A project as fw reads it: config, stages, runtimes and the app object."""
