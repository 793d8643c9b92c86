"""Run-time settings (the LangGraph templates' ``context.py`` role): defaults, then the
settings file (``PROLIGHT_SETTINGS``, TOML, default ``prolight.toml`` in the working
directory if present), then environment variables, which win. Every knob an operator may
turn is here.

This module is the only code that reads the environment and the settings file. Each entry
point (the CLI, the dashboard, ``serve``, ``worker``, the graph factory of
``langgraph.json``) loads ``Settings`` once and passes it down; the graph's nodes get it
through LangGraph's run context (``graph/engine/context.py``), tools through their call's
config. The libraries we call may read their own variables (a provider SDK its API key,
the OpenTelemetry exporter its endpoint); we only check that a key is there."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from graph.core.accounts import Account
from graph.core.audit import audit_key
from graph.core.breaker import BreakerConfig
from graph.core.egress import EgressPolicy
from graph.core.errors import SettingsError
from graph.core.model import Model
from graph.core.retention import RetentionPolicy
from graph.core.schemas import CachePolicy, RetryConfig, RetryOverride
from graph.core.secrets import ENV_PREFIX as SECRET_ENV_PREFIX


class DatabaseUnavailable(SettingsError):
    """The database the settings name cannot be reached (a server down, a wrong password)."""


def importable(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a missing parent package too)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


class McpServer(Model):
    """One ``[mcp.NAME]`` table: an MCP server whose tools plans may use, named
    ``NAME_TOOL``. A ``command`` is started over stdio for each call; a ``url`` is reached
    over streamable HTTP."""

    model_config = ConfigDict(frozen=True)

    command: tuple[str, ...] | None = Field(None, description="argv of a stdio server.")
    url: str | None = Field(None, description="http(s) URL of a streamable-HTTP server.")
    cwd: str | None = Field(None, description="Working directory of a stdio server.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment of a stdio server.")
    risky: bool = Field(True, description="Its tools do things we cannot see: flagged in every plan unless false.")

    @model_validator(mode="after")
    def _one_transport(self) -> "McpServer":
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a stdio server) or url (an HTTP server)")
        if self.command is not None and not self.command:
            raise ValueError("command is empty")
        if self.url is not None and not re.match(r"https?://", self.url):
            raise ValueError("url must be http:// or https://")
        return self


class Settings(Model):
    db: str = Field(description="SQLite file path, sqlite:///PATH or postgresql://... (PROLIGHT_DB).")
    model: str = Field(description="'offline' or 'provider:model' (PROLIGHT_MODEL).")
    workspace: Path = Field(description="Root that file tools are confined to (PROLIGHT_WORKSPACE).")
    allow_commands: frozenset[str] = Field(description="Executables run_command may start (PROLIGHT_ALLOW_COMMANDS).")
    max_revisions: int = Field(2, description="Planner/critic revision rounds before the human sees it.")
    step_concurrency: int = Field(8, description="Steps of one run that execute tools at once.")
    max_task_threads: int = Field(512, description="Thread cap of one executor run (fewer than it needs: still finishes, less greedily).")
    http_max_bytes: int = Field(1_000_000, gt=0, description="Response size cap of http_request (after decompression).")
    egress: EgressPolicy = Field(default_factory=EgressPolicy, description="Where HTTP tools may connect, [egress].")
    step_timeout_s: float = Field(60.0, gt=0, description="A step's wall-clock limit when the plan sets none.")
    model_timeout_s: float = Field(60.0, gt=0, description="Limit for one model call.")
    cancel_grace_s: float = Field(2.0, ge=0, description="How long a running tool may finish after a cancel.")
    lease_s: float = Field(10.0, gt=0, description="How long a process's claim on a thread lasts unrenewed.")
    resume_orphans: bool = Field(True, description="Run managers resume threads of dead processes.")
    workers: int = Field(4, ge=1, description="Background workers of a run manager.")
    retry: RetryConfig = Field(default_factory=RetryConfig)
    tool_retry: dict[str, RetryOverride] = Field(default_factory=dict, description="Per-tool retry overrides.")
    agent_retry: dict[str, RetryOverride] = Field(default_factory=dict, description="Per-agent (planner, critic).")
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    breaker_overrides: dict[str, BreakerConfig] = Field(default_factory=dict, description="By breaker name.")
    breaker_scope: Literal["destination", "tool"] = Field(
        "destination", description="'destination': one breaker per host for http_request (http:HOST), so one "
                                   "bad endpoint does not refuse calls to healthy ones; 'tool': one per tool.")
    cache_tools: dict[str, CachePolicy] = Field(default_factory=dict, description="Per-tool result cache "
                                                "defaults, [cache.tools.NAME] ttl_s = N (a step's own cache wins).")
    sse_heartbeat_s: float = Field(5.0, gt=0, description="Seconds between heartbeats on an idle event stream.")
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy, description="[retention]: when finished "
                                       "threads are compacted or deleted (graph/core/retention.py).")
    accounts: dict[str, Account] = Field(default_factory=dict, description="Operator accounts, [accounts.NAME] tables.")
    mcp: dict[str, McpServer] = Field(default_factory=dict, description="MCP servers, [mcp.NAME] tables.")
    audit_key: SecretStr | None = Field(None, description="Key that seals the decisions (PROLIGHT_AUDIT_KEY).")
    audit_key_file: Path | None = Field(None, description="File holding that key (PROLIGHT_AUDIT_KEY_FILE); "
                                                          "for SQLite, by default a file beside the database.")
    dashboard_open: bool = Field(False, description="Let the dashboard listen beyond loopback with no accounts "
                                                    "(PROLIGHT_DASHBOARD_OPEN): anyone who reaches it can approve.")
    tools: tuple[str, ...] = Field((), description="More tools, as module:attribute (PROLIGHT_TOOLS, comma-separated).")
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="Values plans cite as ${secret:NAME} "
                                                                           "(PROLIGHT_SECRET_NAME; environment only).")
    log_format: Literal["console", "json"] = Field("console", description="Log lines (PROLIGHT_LOG_FORMAT).")
    log_level: str | None = Field(None, description="Log level (PROLIGHT_LOG_LEVEL); each entry point has a default.")
    traces_exporter: str = Field("", description="'console' or 'otlp' to export spans (OTEL_TRACES_EXPORTER).")

    @field_validator("db")
    @classmethod
    def _database(cls, value: str) -> str:
        """A file path, or a URL whose scheme names the back end. A URL is never taken as a
        file path: ``postgresql://u@h/db`` once made a folder named ``postgresql:``."""
        match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", value)
        if not match:
            return value
        scheme = match.group(1).lower()
        if scheme == "sqlite":
            path = value[match.end():]
            if not path.startswith("/") or path == "/":
                raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
            return path[1:]
        if scheme in ("postgresql", "postgres"):
            missing = [m for m in ("psycopg", "psycopg_pool", "langgraph.checkpoint.postgres") if not importable(m)]
            if missing:
                raise ValueError(f"PostgreSQL needs the postgres extra ({', '.join(missing)} not installed): "
                                 "pip install 'prolight-flow[postgres]'")
            return "postgresql" + value[len(scheme):]
        raise ValueError(f"unknown database scheme {scheme!r}: use a SQLite file path, sqlite:///PATH "
                         "or postgresql://...")

    def audit_secret(self, db_url: str | None = None) -> bytes:
        """The key decisions are sealed with (made beside a SQLite database on first use).
        ``db_url``: the database actually opened, when the caller was handed one."""
        try:
            return audit_key(db_url or self.db, self.audit_key.get_secret_value() if self.audit_key else None,
                             self.audit_key_file)
        except (OSError, ValueError) as exc:
            raise SettingsError(f"audit key: {exc}") from None

    @field_validator("mcp")
    @classmethod
    def _server_names(cls, servers: dict[str, McpServer]) -> dict[str, McpServer]:
        for name in servers:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
                raise ValueError(f"server name {name!r}: lower-case letters, digits and _, starting with a letter")
        if servers and not importable("langchain_mcp_adapters"):
            raise ValueError("MCP servers need the mcp extra (langchain-mcp-adapters not installed): "
                             "pip install 'prolight-flow[mcp]'")
        return servers

    @classmethod
    def from_env(cls, db: str | None = None) -> "Settings":
        """``db``: a database given on the command line, over the file and the environment."""
        values = _file_values()
        retry = dict(values.pop("retry", {}) or {})
        values["tool_retry"] = retry.pop("tools", {})
        values["agent_retry"] = retry.pop("agents", {})
        breaker = dict(values.pop("breaker", {}) or {})
        values["breaker_overrides"] = breaker.pop("overrides", {})
        values["breaker_scope"] = _env("PROLIGHT_BREAKER_SCOPE", breaker.pop("scope", "destination"))
        cache = dict(values.pop("cache", {}) or {})
        values["cache_tools"] = cache.pop("tools", {})
        accounts = values.pop("accounts", {}) or {}
        if not isinstance(accounts, dict) or not all(isinstance(a, dict) for a in accounts.values()):
            raise SettingsError("bad setting accounts: each account is an [accounts.NAME] table")
        values["accounts"] = {name: {**table, "name": name} for name, table in accounts.items()}
        _overlay_env(retry, _RETRY_ENV)
        _overlay_env(breaker, _BREAKER_ENV)
        _overlay_env(values, _SCALAR_ENV)
        egress = values.pop("egress", {}) or {}
        if not isinstance(egress, dict):
            raise SettingsError("bad setting egress: it is an [egress] table")
        for key, env in (("allow", "PROLIGHT_EGRESS_ALLOW"), ("ports", "PROLIGHT_EGRESS_PORTS")):
            if os.environ.get(env, "").strip():
                egress[key] = [item.strip() for item in os.environ[env].split(",") if item.strip()]
        allow = _env("PROLIGHT_ALLOW_COMMANDS", ",".join(values.pop("allow_commands", [])))
        tools = _env("PROLIGHT_TOOLS", ",".join(values.pop("tools", [])))
        values["secrets"] = {name.removeprefix(SECRET_ENV_PREFIX): value for name, value in os.environ.items()
                             if name.startswith(SECRET_ENV_PREFIX) and value}
        file_db = str(values.pop("db", ".prolight/prolight.db"))
        try:
            return cls(
                db=db or _env("PROLIGHT_DB", file_db),
                model=_env("PROLIGHT_MODEL", values.pop("model", "offline")),
                workspace=Path(_env("PROLIGHT_WORKSPACE", values.pop("workspace", ".prolight/workspace"))).resolve(),
                allow_commands=frozenset(c.strip() for c in allow.split(",") if c.strip()),
                tools=tuple(t.strip() for t in tools.split(",") if t.strip()),
                retry=retry,
                breaker=breaker,
                egress=egress,
                **values,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = first["msg"]
            raise SettingsError(f"bad setting {where}: {message}" if where else f"bad settings: {message}") from None

    def retry_for_tool(self, tool: str, step_override: RetryOverride | None = None) -> RetryConfig:
        return self.retry.merged(self.tool_retry.get(tool)).merged(step_override)

    def retry_for_agent(self, agent: str) -> RetryConfig:
        return self.retry.merged(self.agent_retry.get(agent))


_RETRY_ENV = {
    "max_attempts": "PROLIGHT_RETRY_MAX_ATTEMPTS",
    "initial_delay_s": "PROLIGHT_RETRY_INITIAL_DELAY_S",
    "max_delay_s": "PROLIGHT_RETRY_MAX_DELAY_S",
    "exponential_base": "PROLIGHT_RETRY_EXPONENTIAL_BASE",
    "jitter": "PROLIGHT_RETRY_JITTER",
}
_BREAKER_ENV = {"failure_threshold": "PROLIGHT_BREAKER_FAILURES", "cooldown_s": "PROLIGHT_BREAKER_COOLDOWN_S"}
_SCALAR_ENV = {
    "max_revisions": "PROLIGHT_MAX_REVISIONS",
    "step_concurrency": "PROLIGHT_STEP_CONCURRENCY",
    "max_task_threads": "PROLIGHT_MAX_TASK_THREADS",
    "http_max_bytes": "PROLIGHT_HTTP_MAX_BYTES",
    "step_timeout_s": "PROLIGHT_STEP_TIMEOUT_S",
    "model_timeout_s": "PROLIGHT_MODEL_TIMEOUT_S",
    "cancel_grace_s": "PROLIGHT_CANCEL_GRACE_S",
    "lease_s": "PROLIGHT_LEASE_S",
    "resume_orphans": "PROLIGHT_RESUME_ORPHANS",
    "workers": "PROLIGHT_WORKERS",
    "dashboard_open": "PROLIGHT_DASHBOARD_OPEN",
    "sse_heartbeat_s": "PROLIGHT_SSE_HEARTBEAT_S",
    "audit_key": "PROLIGHT_AUDIT_KEY",
    "audit_key_file": "PROLIGHT_AUDIT_KEY_FILE",
    "log_format": "PROLIGHT_LOG_FORMAT",
    "log_level": "PROLIGHT_LOG_LEVEL",
    "traces_exporter": "OTEL_TRACES_EXPORTER",
}


class Remote(Model):
    """Where the CLI sends commands when it is a client of ``prolight serve``: the server's
    URL (``PROLIGHT_URL``, or ``--url``) and an operator account's token
    (``PROLIGHT_TOKEN``, environment only: a flag would show it in the process list)."""

    url: str | None = None
    token: SecretStr | None = None
    heartbeat_s: float = Field(5.0, gt=0, description="The server's heartbeat interval (PROLIGHT_SSE_HEARTBEAT_S): "
                                                      "a stream silent for three of them is taken for dead.")

    @classmethod
    def from_env(cls) -> "Remote":
        token = _env("PROLIGHT_TOKEN", "")
        try:
            return cls(url=_env("PROLIGHT_URL", "") or None, token=SecretStr(token) if token else None,
                       heartbeat_s=_env("PROLIGHT_SSE_HEARTBEAT_S", "5"))
        except ValidationError as exc:
            raise SettingsError(f"bad setting PROLIGHT_SSE_HEARTBEAT_S: {exc.errors()[0]['msg']}") from None


def environment_has(name: str) -> bool:
    """Whether a variable that a library reads itself (a provider's API key) is set."""
    return bool(_env(name, ""))


def _overlay_env(values: dict[str, Any], names: dict[str, str]) -> None:
    """Environment variables that are set (non-blank) win over the file's values."""
    for key, env in names.items():
        if os.environ.get(env, "").strip():
            values[key] = os.environ[env].strip()


def _file_values() -> dict[str, Any]:
    explicit = os.environ.get("PROLIGHT_SETTINGS", "").strip()
    path = Path(explicit or "prolight.toml")
    if not path.exists():
        if explicit:
            raise SettingsError(f"settings file {explicit} does not exist")
        return {}
    import tomllib  # here: most calls have no settings file

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None
