"""The remote client's reconnect back-off: the one retry config's waits (tenacity), named
here so the front end takes it from the operations package; and the header both ends of
a stream read its heartbeat interval from. Its own module because tenacity
is an import no local CLI call needs."""

from graph.core.resilience import backoff

# The response header in which a thread's event stream announces its heartbeat interval
# (seconds), so that a client can tell an idle stream from a dead one.
HEARTBEAT_HEADER = "X-Heartbeat-Interval"
# The type of a stream's last message, once every event is sent and the thread has stopped
# where the stream was asked to end; its data is {"status": ...}.
END_EVENT = "end"

__all__ = ["END_EVENT", "HEARTBEAT_HEADER", "backoff"]
