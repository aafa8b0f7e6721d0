"""Start/stop an embedded PostgreSQL (pgserver) in a data directory; prints its URL."""
import sys

import pgserver


def main() -> None:
    action, datadir = sys.argv[1], sys.argv[2]
    # cleanup_mode None: the server outlives this process until "stop".
    server = pgserver.get_server(datadir, cleanup_mode=None if action == "start" else "stop")
    if action == "start":
        server.psql("SELECT 1;")
        uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
        print(uri)
    elif action == "stop":
        server.cleanup()


if __name__ == "__main__":
    main()
