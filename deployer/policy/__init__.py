"""The IAM policy: the source analyser, IAM's action tables and the trigger statements."""
