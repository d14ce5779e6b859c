"""Copy a stack process's output from standard input into its log, capped and rotated.

Every part of the local stack writes its output into a pipe read by one of these,
started beside it (`ops.stack.process.start`): `<name>.log` grows to a size, then
becomes `<name>.log.1` (the older ones shift to `.2`, ... and the oldest is
deleted), so no part can fill the disk. It runs in a session of its own, so
stopping the part does not stop it: it ends when the last writer of the pipe has
closed it, after writing everything that was in it.

    python -m ops.stack.logwriter LOG_FILE --max-bytes N --backups K
"""

from __future__ import annotations

import argparse
import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

# A line longer than this is written in pieces, so a runaway line cannot exhaust memory.
LONGEST_LINE = 64 * 1024


def rotating_log(path: Path, max_bytes: int, backups: int) -> RotatingFileHandler:
    """A handler that writes each record as it is, rolling the file over at `max_bytes`."""
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups,
                                  encoding="utf-8", errors="replace")
    handler.terminator = ""  # every line brings its own
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def copy_lines(source, handler: RotatingFileHandler) -> None:
    """Write each line of `source` (bytes) through `handler` until its end."""
    for line in iter(lambda: source.readline(LONGEST_LINE), b""):
        handler.emit(logging.makeLogRecord({"msg": line.decode("utf-8", "replace")}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log_file", type=Path)
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--backups", type=int, required=True)
    args = parser.parse_args(argv)
    handler = rotating_log(args.log_file, args.max_bytes, args.backups)
    try:
        copy_lines(sys.stdin.buffer, handler)
    finally:
        handler.close()


if __name__ == "__main__":
    main()
