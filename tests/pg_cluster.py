"""A throwaway PostgreSQL cluster for the test run: initdb in a temp dir, unix socket only."""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class ClusterUnavailable(Exception):
    """PostgreSQL is not installed here or its cluster could not be started."""


def _bindir() -> Path:
    """The directory holding initdb and pg_ctl (Debian keeps them off PATH)."""
    explicit = os.environ.get("KEHU_PG_BINDIR")  # this directory only
    if explicit:
        candidates = [explicit]
    else:
        on_path = shutil.which("initdb")
        candidates = [str(Path(on_path).parent)] if on_path else []
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ClusterUnavailable(
        "PostgreSQL is not installed (no initdb; on Debian: apt-get install postgresql)"
    )


@dataclass
class Cluster:
    """A running private cluster: its socket directory, port and superuser."""

    root: Path
    bindir: Path
    port: int
    owner: str | None  # the OS user the server runs as when we are root, else None

    @property
    def socket_dir(self) -> Path:
        """Where the server's unix socket lives (no TCP listener)."""
        return self.root / "socket"

    def url(self, database: str) -> str:
        """The async SQLAlchemy URL of a database in this cluster."""
        return (
            f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}&port={self.port}"
            "&kehu_pool=off"  # AsyncTestClient: the app's start-up runs on another event loop
        )

    def sync_dsn(self, database: str) -> str:
        """A libpq connection string for psycopg."""
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={database}"

    def stop(self) -> None:
        """Stop the server and remove its files."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _run(self, [self.bindir / "pg_ctl", "-D", self.root / "data", "-m", "fast", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def _run(cluster_or_owner, argv: list, timeout: int = 60) -> subprocess.CompletedProcess:
    """Run a server program, as the cluster's OS user when we are root (initdb refuses root)."""
    owner = cluster_or_owner.owner if isinstance(cluster_or_owner, Cluster) else cluster_or_owner
    argv = [str(a) for a in argv]
    if owner:
        argv = ["runuser", "-u", owner, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)


def _port() -> int:
    """The port number in the socket file's name (nothing listens on TCP)."""
    return 5432  # the socket lives in our own directory, so the usual number never clashes


def start() -> Cluster:
    """Create and start a cluster tuned for tests (no fsync: the data is thrown away)."""
    bindir = _bindir()
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterUnavailable("running as root and there is no 'postgres' user") from None
        owner = "postgres"
    # As root the server runs as postgres, which must reach the directory: /tmp it is.
    root = Path(tempfile.mkdtemp(prefix="kehu-pg-", dir="/tmp" if owner else None))  # noqa: S108
    (root / "socket").mkdir()
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (root, root / "socket"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(root=root, bindir=bindir, port=_port(), owner=owner)
    options = (
        f"-k {cluster.socket_dir} -p {cluster.port} -c listen_addresses='' -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
        "-c shared_buffers=64MB"
    )
    try:
        _run(owner, [bindir / "initdb", "-D", root / "data", "-A", "trust", "-U", "postgres",
                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], timeout=120)  # fmt: skip
        _run(owner, [bindir / "pg_ctl", "-D", root / "data", "-o", options, "-l", root / "log",
                     "-w", "-t", "60", "start"], timeout=90)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        log = root / "log"
        if log.exists():
            detail += " " + log.read_text(errors="replace")[-500:]
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterUnavailable(f"the PostgreSQL test cluster did not start: {detail}") from exc
    deadline = time.monotonic() + 30
    while not (cluster.socket_dir / f".s.PGSQL.{cluster.port}").exists():
        if time.monotonic() > deadline:
            cluster.stop()
            raise ClusterUnavailable("the PostgreSQL test cluster opened no socket")
        time.sleep(0.05)
    return cluster
