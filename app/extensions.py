"""Extensions, initialised once in create_app()."""
from collections.abc import Iterator
from contextlib import contextmanager

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from engine.tables import Base

# One metadata for engine and application tables, so one Alembic history builds both.
# expire_on_commit off: a page rendered after its use case commits need not reload every row it shows.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work on the current app's session: commit on success, roll back on any error. The timer loop,
    the sample seeding and the tests hand it to run_due_timers; request use cases use services.use_case."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
