"""Command-line commands; each module offers `add_parser(subparsers)` and `run(args) -> int`."""

import argparse
import sys

from metrics_utility.library import secret
from metrics_utility.library.errors import MetricsUtilityError


def summary_path(text: str) -> str:
    """argparse type of --summary-file: an empty path would lose the summary silently."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; expected a file path, or '-' for stdout")
    return text


def failed(prog: str, error: MetricsUtilityError) -> int:
    """The one answer to a command that ended with `error`: its message on stderr (redacted), its exit code.

    Every command and the CLI's last guard answer through here; the run summary is the command's to write (its
    shape differs per command)."""
    sys.stderr.write(f'{prog}: {secret.redact(error.message)}\n')
    return error.exit_code
