"""The local database servers the benchmarks make their databases on: per ``--db`` kind, the
server's URL (no database) and the administrative database to connect to first. Nothing is
imported here, so a benchmark measuring its own process loads no driver for it."""

SERVERS = {
    "mariadb": ("mysql+asyncmy://root@127.0.0.1:3306", "test"),
    "postgres": ("postgresql+asyncpg://postgres@127.0.0.1:5432", "postgres"),
}
