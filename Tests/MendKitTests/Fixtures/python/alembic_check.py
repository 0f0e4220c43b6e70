"""What the generate_models tests ask of SQLAlchemy and Alembic themselves.

    alembic_check.py compare URL MODELS_FILE TABLE...
        Imports the generated models (every mapper configured), then runs Alembic's
        autogenerate comparison (alembic.autogenerate.compare_metadata, with type and server
        default comparison on) between their metadata and the live database, limited to the
        generated tables. Prints each difference; exit status 1 when there is any.

    alembic_check.py upgrade URL MIGRATION_FILE
    alembic_check.py downgrade URL MIGRATION_FILE
        Runs the generated migration with Alembic's own command (an Alembic environment in a
        temporary folder whose versions/ holds the file): `alembic upgrade head`, or that and
        then `alembic downgrade base`.

URL is a SQLAlchemy URL (postgresql+psycopg2://...).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import warnings

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import configure_mappers


def load_module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def compare(url: str, models_path: str, tables: list[str]) -> int:
    module = load_module(models_path, "generated_models")
    configure_mappers()
    metadata = module.Base.metadata
    wanted = set(tables)

    def include_name(name, type_, parent_names):
        if type_ == "table":
            return name in wanted
        return True

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True, "include_name": include_name},
        )
        with warnings.catch_warnings():
            # Types PostgreSQL has and SQLAlchemy does not (citext) reflect as NullType with a warning.
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            differences = compare_metadata(context, metadata)
    missing = wanted - set(t.name for t in metadata.tables.values())
    for name in sorted(missing):
        print(f"not in the models: {name}")
    for difference in differences:
        print(describe(difference))
    return 1 if differences or missing else 0


def describe(difference) -> str:
    """One line per difference: what Alembic would do, to which object, and its repr."""
    if isinstance(difference, list):
        return "\n".join(describe(tuple(item)) for item in difference)
    operation = difference[0]
    if operation.startswith("modify_"):
        _, schema, table, column = difference[:4]
        return f"{operation} {table}.{column}: {difference[-2]!r} -> {difference[-1]!r}"
    target = difference[1]
    name = getattr(target, "name", None)
    table = getattr(getattr(target, "table", None), "name", None)
    return f"{operation} {table + '.' if table else ''}{name}: {difference!r}"


ENV_PY = '''
from alembic import context
import sqlalchemy as sa

engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''


def migrate(url: str, migration_path: str, down: bool) -> int:
    folder = tempfile.mkdtemp(prefix="pgmend-alembic-")
    try:
        os.makedirs(os.path.join(folder, "versions"))
        with open(os.path.join(folder, "env.py"), "w") as env:
            env.write(ENV_PY)
        with open(os.path.join(folder, "script.py.mako"), "w") as template:
            template.write("")
        shutil.copy(migration_path, os.path.join(folder, "versions", os.path.basename(migration_path)))
        config = Config()
        config.set_main_option("script_location", folder)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        command.upgrade(config, "head")
        if down:
            command.downgrade(config, "base")
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(arguments: list[str]) -> int:
    if len(arguments) >= 3 and arguments[0] == "compare":
        return compare(arguments[1], arguments[2], arguments[3:])
    if len(arguments) == 3 and arguments[0] in ("upgrade", "downgrade"):
        return migrate(arguments[1], arguments[2], down=arguments[0] == "downgrade")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
