"""`maillage directory synth|import`: a progress bar, a summary, and user errors in one sentence."""
from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from services.directory.cli import register
from tests.unit.directory.annuaire_fixtures import RPPS_A, activity_line, write


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """The maillage command, as far as these tests need it."""

    register(app)
    env = {"MAILLAGE_DIRECTORY_DATABASE_URL": f"sqlite:///{tmp_path / 'directory.db'}", "COLUMNS": "120"}
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def test_synth_then_import_then_import_again(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    extract = tmp_path / "extract.txt"
    written = run("directory", "synth", "--rows", "500", "--out", str(extract), "--seed", "3")
    assert written.exit_code == 0 and "Wrote 500 lines" in written.output
    first = run("directory", "import", str(extract))
    assert first.exit_code == 0, first.output
    assert "created" in first.output and "500" in first.output and "lines/s" in first.output
    again = run("directory", "import", str(extract))
    assert again.exit_code == 0 and "unchanged" in again.output


def test_rejected_lines_are_listed_and_kept(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "x.txt", activity_line(RPPS_A), activity_line("10107582544"))
    rejects = tmp_path / "rejects.tsv"
    result = run("directory", "import", str(path), "--rejects", str(rejects))
    assert result.exit_code == 0
    assert "line 3: The RPPS number fails its check digit (Luhn)." in result.output
    assert rejects.read_text(encoding="utf-8") == "3\tThe RPPS number fails its check digit (Luhn).\n"


@pytest.mark.parametrize(("content", "message"), [
    (None, "No extract at"),
    ("Nom|Prénom|\nDUPONT|Jean|\n", "is not an Annuaire Santé activity extract"),
    ("", "The file is empty"),
])
def test_user_errors_are_one_sentence_and_exit_1(run, tmp_path: Path, content: str | None,  # type: ignore[no-untyped-def]
                                                 message: str) -> None:
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run("directory", "import", str(path))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0  # one line, no progress bar before it
