"""The ``fw`` entry point.

Commands live one per module in ``cli/commands/`` and are imported only when invoked, so
``fw --help`` and ``fw local`` do not pay for boto3 unless they need it.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from deployer.errors import FwError

from . import commands as _commands_pkg
from .help import FullSummaryGroup
from .output import error

__version__ = "0.1.0"
# 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C: scripts can tell "stopped
# on purpose" from "failed" (1).
EXIT_INTERRUPTED = 130
# click >= 8.2 raises this for a group run without a command; 8.1 printed the help itself.
_NoArgsIsHelp = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _LazyGroup(FullSummaryGroup):
    """A group whose commands are the modules of ``cli.commands`` (``new_project`` -> ``new-project``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [
            m.name
            for m in pkgutil.iter_modules(_commands_pkg.__path__)
            if not m.name.startswith("_")
        ]
        return sorted(n.replace("_", "-") for n in names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.list_commands(ctx):
            return None
        module = importlib.import_module(f"cli.commands.{cmd_name.replace('-', '_')}")
        return module.command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fw")
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The project directory (default: the current directory).",
)
@click.option("--debug/--no-debug", default=False, help="Show tracebacks and AWS call details.")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, debug: bool) -> None:
    """fw: serverless web APIs on AWS Lambda and API Gateway."""
    from deployer.project.chalice_layout import new_command

    new_command()  # warnings about the config file are printed once per command
    ctx.ensure_object(dict)
    ctx.obj["project_dir"] = (project_dir or Path.cwd()).resolve()
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected failures print one line on stderr and exit non-zero."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="fw", standalone_mode=False)
    except click.exceptions.Abort as err:
        if _interrupted(err):
            # Whatever ran has left its record consistent: the deployer writes it after every
            # create and delete (deployer/deploy/state.py), so the next command finishes the job.
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo("Aborted.", err=True)  # a confirmation answered "no"
        sys.exit(1)
    except _NoArgsIsHelp as err:
        err.show()  # `fw` or a group alone: its help, not an error
        sys.exit(err.exit_code)
    except click.UsageError as err:
        # One line, not click's usage block: the fact, then where the fix is documented.
        where = err.ctx.command_path if err.ctx is not None else "fw"
        error(f"{err.format_message()} (see '{where} --help')")
        sys.exit(err.exit_code)
    except click.ClickException as err:
        error(err.format_message())
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except FwError as err:
        if debug:
            raise
        error(str(err))
        sys.exit(err.exit_code)
    except KeyboardInterrupt:  # outside click's own handling (while printing an error)
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:  # noqa: BLE001 - the one place that turns surprises into one line
        if debug:
            raise
        if type(err).__module__.startswith("botocore"):
            # An AWS call no command wrapped: still say which endpoint was unreachable.
            from deployer.deploy.aws import unreachable

            reason = unreachable(err)
            if reason is not None:
                error(reason[:1].upper() + reason[1:])
                sys.exit(1)
        error(f"{type(err).__name__}: {err} (run with --debug for the traceback)")
        sys.exit(1)


def _interrupted(err: BaseException) -> bool:
    """Whether click's Abort stands for Ctrl-C: a KeyboardInterrupt in its cause or context.

    click turns Ctrl-C into Abort both around a command (``from`` the interrupt) and inside a
    prompt (``from None``, which keeps it as the context); a refused confirmation has neither.
    """
    seen: BaseException | None = err
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


if __name__ == "__main__":  # pragma: no cover
    main()
