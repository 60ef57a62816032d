"""Private RabbitMQ and PostgreSQL servers for the fault tests that restart them.

The machine's own servers are shared by every test run and never touched: each of these runs
in a temporary directory, on free loopback ports, under a node name of its own, and is stopped
only through its own handle (``rabbitmqctl -n <this node> stop``, ``pg_ctl -D <this dir>``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

RABBIT_SBIN = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    """A free loopback port below the ephemeral range: a server restarted on a port from that
    range can find it taken by a client's outgoing connection (or a client can connect to
    itself while the server is down, and hang)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = secrets.randbelow(max(low - 20000, 1000)) + 20000 if low > 21000 else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def rabbit_missing() -> str | None:
    """Why a private RabbitMQ node cannot be started here, or None."""
    for tool in ("rabbitmq-server", "rabbitmqctl"):
        if not (RABBIT_SBIN / tool).exists():
            return f"{RABBIT_SBIN / tool} not installed"
    return None


class PrivateRabbit:
    """One RabbitMQ node of our own: ``esdfault<pid>@localhost``, its own ports, mnesia, logs
    and cookie (in a temporary HOME), no plugins (so nothing binds the management port)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="esd-fault-rabbit-"))
        self.node = f"esdfault{os.getpid()}{secrets.token_hex(2)}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        (self.dir / "home").mkdir()
        cookie = self.dir / "home" / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            "vm_memory_high_watermark.relative = 0.2\n"
            "disk_free_limit.absolute = 50MB\n"
        )
        self.env = {
            **os.environ,
            "HOME": str(self.dir / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbit.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> None:
        log = (self.dir / "server.out").open("ab")
        self.process = subprocess.Popen(
            [str(RABBIT_SBIN / "rabbitmq-server")],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"private RabbitMQ exited: {self._tail()}")
            if _port_open(self.port) and self._ctl("await_startup", timeout=30) == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"private RabbitMQ not up in {timeout}s: {self._tail()}")

    def stop(self, timeout: float = 60) -> None:
        """``rabbitmqctl -n <our node> stop``; never anything aimed at another node."""
        if self.process is None or self.process.poll() is not None:
            return
        self._ctl("stop", timeout=timeout)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # our own child only, by its pid
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def add_vhost(self, vhost: str) -> None:
        grant = ("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        for args in (("add_vhost", vhost), grant):
            if self._ctl(*args) != 0:
                raise RuntimeError(f"rabbitmqctl {args[0]} on {self.node} failed")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ctl(self, *args: str, timeout: float = 30) -> int:
        try:
            done = subprocess.run(
                [str(RABBIT_SBIN / "rabbitmqctl"), "-n", self.node, *args],
                env=self.env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return -1
        return done.returncode

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "server.out").read_text(errors="replace")[-1500:]
        return ""


def postgres_missing() -> str | None:
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser not installed (initdb refuses to run as root)"
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        return "initdb/pg_ctl not installed"
    return None


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


class PrivatePostgres:
    """One PostgreSQL cluster of our own in a temporary directory, on a free loopback port,
    run as the ``postgres`` user when we are root (initdb refuses root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="esd-fault-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run(
            _pg_bin("initdb") or "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 200\n"
                "fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
            )

    def start(self) -> None:
        self._run(
            _pg_bin("pg_ctl") or "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, timeout=90, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.decode()[-800:]}")
