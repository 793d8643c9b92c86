"""LangGraph's SQLite saver, storing each channel value once per version instead of once per
checkpoint, as its PostgreSQL saver does (``checkpoint_blobs``).

The stock ``SqliteSaver`` serialises every channel into every checkpoint, so a thread with a
1,000-step plan stored that plan (and its copy in ``plan_versions``, and every step's
result) again in each of its eight checkpoints: about 1.5 KB of checkpoint per step for a
result of a few bytes. Here a checkpoint row holds the checkpoint without its values, and
each value goes to ``checkpoint_blobs`` under (thread, namespace, channel, version): a
value that did not change since the last checkpoint is not written again. Values of more
than 2 KB (the plan, every step's results), in the checkpoint tables and in the pending
writes alike, are stored deflated (``Compressed``).

What stays as it was: the checkpoint and writes tables (their rows, ids and parents), so
history, forks, pending writes and LangGraph's own readers work unchanged, and a
checkpoint written whole by an earlier release (its values inside) still reads as it is.
A checkpoint that refers to a version stored whole in such an older checkpoint gets that
value written as a blob when it is saved, so a thread that was waiting at the gate across
an upgrade loses nothing. Only the values are moved, never their meaning: ``get_tuple``
and ``list`` hand LangGraph the same checkpoint the stock saver would."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple,
                                       get_checkpoint_metadata)
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.store.migrations import SQLITE_WRITES

BLOBS_SCHEMA = """CREATE TABLE IF NOT EXISTS checkpoint_blobs (
    thread_id     TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    version       TEXT NOT NULL,
    type          TEXT NOT NULL,
    blob          BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
) WITHOUT ROWID"""
EMPTY = "empty"  # a channel with a version and no value (as the PostgreSQL saver marks it)


class Compressed:
    """A serializer that deflates the values it is handed when they are large (a plan, the
    results of every step), marking the type (``msgpack+zlib``); smaller ones, and values an
    earlier release stored, read as they are. Level 1: a 200 KB value of a thousand step
    results shrinks about sevenfold in about a millisecond."""

    SUFFIX = "+zlib"
    ABOVE = 2048  # bytes: below this the header and the CPU are not worth it

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = self.inner.dumps_typed(obj)
        if len(data) > self.ABOVE and not type_.endswith(self.SUFFIX):
            return type_ + self.SUFFIX, zlib.compress(data, 1)
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, blob = data
        if type_.endswith(self.SUFFIX):
            return self.inner.loads_typed((type_.removesuffix(self.SUFFIX), zlib.decompress(blob)))
        return self.inner.loads_typed(data)

    def __getattr__(self, name: str) -> Any:  # dumps/loads and whatever else LangGraph asks of it
        return getattr(self.inner, name)


class VersionedSqliteSaver(SqliteSaver):
    def __init__(self, conn: Any) -> None:
        super().__init__(conn)
        self.serde = Compressed(self.serde)

    def setup(self) -> None:
        if self.is_setup:
            return
        self.conn.execute(SQLITE_WRITES.format(name="writes"))  # before LangGraph's: keyed, no rowid
        super().setup()
        self.conn.execute(BLOBS_SCHEMA)
        self.conn.commit()

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"]["checkpoint_ns"]
        values, versions = checkpoint["channel_values"], checkpoint["channel_versions"]
        if not set(values) <= set(versions):  # a value without a version: keep it whole, as the stock saver would
            return super().put(config, checkpoint, metadata, new_versions)
        stripped = {**checkpoint, "channel_values": {}}
        type_, data = self.serde.dumps_typed(stripped)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False).encode("utf-8", "ignore")
        with self.cursor() as cur:
            have = _stored_versions(cur, thread_id, ns, list(versions))
            blobs = []
            for channel, version in versions.items():
                if (channel, str(version)) in have:
                    continue  # written with an earlier checkpoint: the same value
                blob_type, blob = self.serde.dumps_typed(values[channel]) if channel in values else (EMPTY, None)
                blobs.append((thread_id, ns, channel, str(version), blob_type, blob))
            cur.executemany("INSERT OR IGNORE INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, "
                            "type, blob) VALUES (?, ?, ?, ?, ?, ?)", blobs)
            cur.execute("INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                        "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (thread_id, ns, checkpoint["id"], config["configurable"].get("checkpoint_id"), type_, data,
                         meta))
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = super().get_tuple(config)
        return self._with_values(found) if found else None

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
             before: RunnableConfig | None = None, limit: int | None = None) -> Iterator[CheckpointTuple]:
        # Read to the end first: the stock iterator holds the connection's lock while it
        # yields, and filling a checkpoint's values takes it again.
        found = [*super().list(config, filter=filter, before=before, limit=limit)]
        for item in found:
            yield self._with_values(item)

    def delete_thread(self, thread_id: str) -> None:
        super().delete_thread(thread_id)
        with self.cursor() as cur:
            cur.execute("DELETE FROM checkpoint_blobs WHERE thread_id = ?", (str(thread_id),))

    def _with_values(self, item: CheckpointTuple) -> CheckpointTuple:
        """The checkpoint with its values read back from the blobs (one written whole by an
        earlier release has them already)."""
        checkpoint = item.checkpoint
        if checkpoint["channel_values"] or not checkpoint["channel_versions"]:
            return item
        conf = item.config["configurable"]
        pairs = [(channel, str(version)) for channel, version in checkpoint["channel_versions"].items()]
        with self.cursor(transaction=False) as cur:
            rows = cur.execute(
                "SELECT channel, type, blob FROM checkpoint_blobs WHERE thread_id = ? AND checkpoint_ns = ? AND "
                f"(channel, version) IN (VALUES {', '.join(['(?, ?)'] * len(pairs))})",
                (conf["thread_id"], conf.get("checkpoint_ns", ""), *[x for pair in pairs for x in pair])).fetchall()
        values = {channel: self.serde.loads_typed((type_, blob)) for channel, type_, blob in rows if type_ != EMPTY}
        return item._replace(checkpoint={**checkpoint, "channel_values": values})


def _stored_versions(cur: Any, thread_id: str, ns: str, channels: list[str]) -> set[tuple[str, str]]:
    if not channels:
        return set()
    marks = ", ".join("?" * len(channels))
    return set(cur.execute(f"SELECT channel, version FROM checkpoint_blobs WHERE thread_id = ? AND checkpoint_ns = ? "
                           f"AND channel IN ({marks})", (thread_id, ns, *channels)).fetchall())


def referenced_blobs(saver: SqliteSaver, checkpoint_type: str, checkpoint: bytes) -> set[tuple[str, str]]:
    """The (channel, version) pairs a stored checkpoint row refers to (retention keeps them)."""
    versions = saver.serde.loads_typed((checkpoint_type, checkpoint))["channel_versions"]
    return {(channel, str(version)) for channel, version in versions.items()}
