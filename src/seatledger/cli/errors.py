"""How the CLI reports a refusal: one line on stderr, exit status 2."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

from seatledger.domain.errors import SeatLedgerError

stderr = Console(stderr=True, highlight=False, soft_wrap=True)

USAGE_ERROR = 2


def fail(message: str) -> NoReturn:
    stderr.print(f"seatledger: {message}", markup=False)
    raise typer.Exit(USAGE_ERROR)


@contextmanager
def refusals_exit(extra: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turn a domain refusal (or one of ``extra``) into a one-line message and exit status 2."""
    try:
        yield
    except SeatLedgerError as exc:
        fail(f"{exc.code}: {exc.message}")
    except extra as exc:
        fail(str(exc))


Command = Callable[..., None]
