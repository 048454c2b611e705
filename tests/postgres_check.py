"""Exit 0 when the PostgreSQL server of the given database URL answers, 1 otherwise (used by make test)."""

import sys

import dj_database_url
import psycopg2


def main(url: str) -> int:
    config = dj_database_url.parse(url)
    try:
        # The maintenance database: the named one may not exist yet (the tests create test_<name>).
        psycopg2.connect(
            dbname="postgres",
            user=config["USER"],
            password=config["PASSWORD"],
            host=config["HOST"],
            port=config["PORT"] or 5432,
            connect_timeout=3,
        ).close()
    except psycopg2.Error as error:
        print(f"PostgreSQL at {config['HOST']}:{config['PORT']}: {error}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
