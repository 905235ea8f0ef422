"""Command-line commands; each module offers `add_parser(subparsers)` and `run(args) -> int`."""

import argparse


def summary_path(text: str) -> str:
    """argparse type of --summary-file: an empty path would lose the summary silently."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; expected a file path, or '-' for stdout")
    return text
