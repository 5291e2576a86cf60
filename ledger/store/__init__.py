"""Storage adapter: SQLAlchemy Core over PostgreSQL and SQLite, one code path for both."""
