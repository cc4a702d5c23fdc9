"""``fw package`` on each sample writes a template cfn-lint accepts, in both formats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("sample", ["hello", "todo", "events"])
def test_sample_template_is_cfn_lint_clean(sample: str, fmt: str, tmp_path: Path) -> None:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    project = shutil.copytree(SAMPLES / sample, tmp_path / sample)
    out = tmp_path / "out"
    args = ["--project-dir", str(project), "package", "--template-format", fmt, str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    template = (out / f"sam.{fmt}").read_text()
    matches = lint(template, config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []
