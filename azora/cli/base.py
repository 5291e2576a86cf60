"""What every ``azora`` command shares: the settings, the container, and one place that
turns expected failures into a one-line error and exit status 1 (never a traceback)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import update_wrapper
from typing import Any, TypeVar, cast

import click
from pydantic import ValidationError

from azora.bootstrap import Container, build
from azora.db import DatabaseMissing
from azora.production import InsecureConfiguration
from azora.settings import Settings
from chain.errors import ChainError
from ledger import LedgerError

F = TypeVar("F", bound=Callable[..., Any])


def settings_problem(error: ValidationError) -> str:
    """Which variables are malformed, in the words of the environment (no values)."""
    lines = []
    for item in error.errors():
        where = "_".join(str(p) for p in item["loc"]).upper()
        lines.append(f"  - AZORA_{where}: {item['msg']}" if where else f"  - {item['msg']}")
    return "invalid configuration:\n" + "\n".join(lines)


@dataclass
class CliState:
    """The settings (read once) and the container (built on first use)."""

    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _container: Container | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings(**self.overrides)
        return self._settings

    def container(self, *, check_database: bool = True) -> Container:
        """The command's container. CLI writes are one transaction per call (no writer
        thread), and a missing database is refused before anything creates one."""
        if self._container is None:
            self._container = build(
                self.settings(), group_commit=False, check_database=check_database
            )
        return self._container

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


class AzoraGroup(click.Group):
    """A group whose commands report expected failures in one line and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationError as error:
            raise click.ClickException(settings_problem(error)) from None
        except (InsecureConfiguration, DatabaseMissing) as error:
            raise click.ClickException(str(error)) from None
        except ChainError as error:
            raise click.ClickException(f"chain: {error}") from None
        except LedgerError as error:
            raise click.ClickException(f"{error.code}: {error.detail}") from None


def pass_state(fn: F) -> F:
    """Hand the command its :class:`CliState` as the first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        state = ctx.find_object(CliState)
        assert state is not None, "the azora group sets up the state"
        return ctx.invoke(fn, state, *args, **kwargs)

    return cast(F, update_wrapper(wrapper, fn))
