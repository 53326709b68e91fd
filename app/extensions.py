"""Extensions, initialised once in create_app()."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from engine.tables import Base

# One metadata for engine and application tables, so one Alembic history builds both.
# expire_on_commit off: a page rendered after its use case commits need not reload every row it shows.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
