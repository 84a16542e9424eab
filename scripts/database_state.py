"""Print whether the configured database is `empty`, holds the `demo` data, or holds other `data`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.models import User  # noqa: E402
from crm.seed import ADMIN_EMAIL, database_has_data  # noqa: E402


def main() -> None:
    app = create_app()
    with app.app_context():
        # The same test `flask crm seed-demo` uses before it refuses a database that holds data.
        if not database_has_data():
            print("empty")
        elif db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is not None:
            print("demo")
        else:
            print("data")
        db.engine.dispose()


if __name__ == "__main__":
    main()
