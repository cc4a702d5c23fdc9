"""What ships: the zip, its dependencies, the package check and the SAM template."""
