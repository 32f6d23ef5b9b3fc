"""`kehu serve --workers N`: uvicorn's worker supervisor, each worker on its own listening socket.

uvicorn's own multi-worker mode shares one listening socket between the workers, and the
worker that happens to be awake drains the whole accept queue: in a probe, 16 keep-alive
connections opened together landed 16/0 on two workers in three trials out of four, which
halves the throughput and makes one worker's clients wait for all of them (docs/BENCHMARKS.md).
Here every worker binds its own SO_REUSEPORT socket, so the kernel spreads new connections over
the workers that are listening (and a killed worker's socket leaves the group until its
replacement binds a new one). The parent binds the address too, without listening, so a port in
use still fails at start-up and the port stays taken between worker restarts. Linux lets only
processes of the same user join a port's SO_REUSEPORT group, so run Kehu as its own user
(deploy/kehu.service does).
"""

import socket

import uvicorn
from uvicorn.supervisors import multiprocess

CAN_BALANCE = hasattr(socket, "SO_REUSEPORT")


def _reuseport_socket(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket that shares its port with the other workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class OwnSocketWorker(multiprocess.Process):
    """A uvicorn worker process that listens on a socket of its own, not the parent's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        """Run the worker's server on a fresh SO_REUSEPORT socket for the parent's address."""
        own = []
        for shared in sockets or []:
            host, port = shared.getsockname()[:2]
            own.append(_reuseport_socket(host, port))
            shared.close()  # this process never accepts on the shared socket
        super().target(own)


class BalancedSupervisor(multiprocess.Multiprocess):
    """uvicorn's Multiprocess (restarts, signals, health checks) with OwnSocketWorker workers."""

    def run(self) -> None:
        """Supervise the workers; uvicorn builds each one through the module's `Process` name."""
        # Multiprocess looks `Process` up in its module every time it starts a worker (at start,
        # on a restart after a crash, on SIGHUP and SIGTTIN): point that name at ours for as
        # long as this supervisor runs.
        original = multiprocess.Process
        multiprocess.Process = OwnSocketWorker
        try:
            super().run()
        finally:
            multiprocess.Process = original


def serve_workers(config: uvicorn.Config) -> None:
    """Serve `config` with its `workers` processes (2+), connections spread by the kernel."""
    try:
        parent = _reuseport_socket(config.host, config.port)
    except OSError as exc:
        raise SystemExit(f"kehu: cannot listen on {config.host}:{config.port}: {exc}") from None
    try:
        BalancedSupervisor(config, sockets=[parent]).run()
    except KeyboardInterrupt:
        pass
    finally:
        parent.close()
