"""Help output: command lists that show each command's whole summary."""

from __future__ import annotations

import click


class FullSummaryGroup(click.Group):
    """A group whose command list wraps each summary instead of cutting it short.

    click shortens a summary to what fits on one line, mid-sentence ("Delete the stage's API,
    functions, wiring and role;..."); the summary is the one line a user reads to pick a command.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
