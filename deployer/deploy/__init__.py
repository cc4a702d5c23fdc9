"""``fw deploy``/``fw delete``: the desired state, remote reads, plan, execution, record."""
