"""The schema has one source, the migrations; the tables the code declares to build its
queries must say the same thing. Alembic's comparison of the migrated database with every
declared table finds no difference, on both back ends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from azora.schema import built_on, declared_metadata, derived_tables


def _differences(engine: Engine, metadata: MetaData) -> list[Any]:
    derived = derived_tables(engine.dialect.name)

    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        return not (type_ == "table" and name in derived)

    def include_object(
        item: object, _name: str | None, type_: str, reflected: bool, _other: object
    ) -> bool:
        # An index declared for one back end only is compared there only.
        return reflected or type_ != "index" or built_on(item, engine.dialect.name)

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": include_name,
                "include_object": include_object,
            },
        )
        found = compare_metadata(context, metadata)
    return [d for d in found if "alembic_version" not in repr(d)]


def test_migrations_and_declared_tables_agree(engine: Engine) -> None:
    assert _differences(engine, declared_metadata()) == []


def test_every_migrated_table_is_declared(engine: Engine) -> None:
    from sqlalchemy import inspect

    declared = set(declared_metadata().tables)
    migrated = set(inspect(engine).get_table_names()) - {"alembic_version"}
    migrated -= derived_tables(engine.dialect.name)
    assert migrated == declared
