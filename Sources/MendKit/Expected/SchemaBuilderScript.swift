/// The Python program that builds an expected schema in a scratch database with the
/// application's own Python: `create_all` of its models, or `alembic upgrade head` of its
/// migrations. pgmend passes it with `-c`, so nothing is written to disk.
///
/// Arguments: `models MODULE:ATTR DIR` or `migrations ALEMBIC_INI [DIR]`. The scratch database
/// is reached through libpq's `PG*` environment variables (psycopg2 and psycopg 3 both read
/// them) and the URL `postgresql+DRIVER:///DATABASE`. A problem the operator can fix ends the
/// program with exit 17 and one line `pgmend-error: ...` on stderr.
enum SchemaBuilderScript {
    /// The exit code that says "the last stderr line is pgmend-error: <message>".
    static let reportedExitCode: Int32 = 17
    static let errorPrefix = "pgmend-error: "

    static let source = #"""
import importlib, os, sys, traceback

def report(message):
    sys.stderr.write("pgmend-error: " + " ".join(str(message).split("\n")) + "\n")
    sys.stderr.flush()
    os._exit(17)

def last_line(exc):
    lines = traceback.format_exception_only(type(exc), exc)
    return lines[-1].strip() if lines else repr(exc)

def driver():
    for name in ("psycopg2", "psycopg"):
        try:
            importlib.import_module(name)
            return name
        except ImportError:
            pass
    report("neither psycopg2 nor psycopg (3) is installed in %s; install one "
           "(pip install psycopg2-binary or psycopg) or name another Python with --python" % sys.executable)

def sqlalchemy_module():
    try:
        import sqlalchemy
        return sqlalchemy
    except ImportError:
        report("SQLAlchemy is not installed in %s; name the application's Python with --python" % sys.executable)

def url():
    return "postgresql+%s:///%s" % (driver(), os.environ["PGDATABASE"])

def add_path(directory):
    if directory:
        sys.path.insert(0, os.path.abspath(directory))

def models(target, directory):
    sqlalchemy = sqlalchemy_module()
    module_name, _, attribute = target.partition(":")
    add_path(directory)
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:
        report("cannot import %s (from %s): %s" % (module_name, os.path.abspath(directory), last_line(exc)))
    value = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            report("%s has no attribute %s" % (module_name, attribute))
        value = getattr(value, part)
    metadata = value if isinstance(value, sqlalchemy.MetaData) else getattr(value, "metadata", None)
    if not isinstance(metadata, sqlalchemy.MetaData):
        report("%s is a %s, not a SQLAlchemy MetaData or a declarative Base (a class with .metadata)"
               % (target, type(value).__name__))
    engine = sqlalchemy.create_engine(url())
    try:
        with engine.begin() as connection:
            quote = engine.dialect.identifier_preparer.quote_schema
            for schema in sorted({table.schema for table in metadata.tables.values() if table.schema}):
                connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS " + quote(schema))
            metadata.create_all(connection)
    except Exception as exc:
        report("creating the tables of %s failed: %s" % (target, last_line(exc)))
    finally:
        engine.dispose()

def refuse_other_databases(sqlalchemy, scratch):
    # env.py may build its engine from the application's own settings rather than
    # sqlalchemy.url: then it would migrate a real database. Refuse before any statement runs.
    def check(connection, record):
        info = getattr(connection, "info", None)
        name = getattr(info, "dbname", None)
        if name != scratch:
            connection.close()
            report("the migrations' env.py connected to database %r, not to the URL pgmend set "
                   "as sqlalchemy.url; pgmend runs migrations only into its scratch database: make env.py "
                   "use config.get_main_option(\"sqlalchemy.url\") when it is set" % (name,))
    sqlalchemy.event.listen(sqlalchemy.pool.Pool, "connect", check)

def migrations(ini, directory):
    sqlalchemy = sqlalchemy_module()
    try:
        from alembic import command
        from alembic.config import Config
    except ImportError:
        report("Alembic is not installed in %s; name the application's Python with --python" % sys.executable)
    ini = os.path.abspath(ini)
    folder = os.path.dirname(ini)
    os.chdir(folder)
    add_path(directory or folder)
    refuse_other_databases(sqlalchemy, os.environ["PGDATABASE"])
    config = Config(ini)
    config.set_main_option("sqlalchemy.url", url().replace("%", "%%"))
    try:
        command.upgrade(config, "head")
    except BaseException as exc:
        report("alembic upgrade head (%s) failed: %s" % (ini, last_line(exc)))

if sys.argv[1] == "models":
    models(sys.argv[2], sys.argv[3])
else:
    migrations(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
"""#
}
