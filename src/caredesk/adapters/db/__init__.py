"""SQLAlchemy persistence: typed models, repositories, unit of work, Alembic migrations."""
