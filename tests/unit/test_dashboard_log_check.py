"""The check every browser test makes on the dashboard's log: it must fail on any traceback
of ours and excuse only Streamlit's report of a browser that left mid-send."""

import pytest

from tests.support.browser import assert_no_traceback, tracebacks

_SITE = "/venv/lib/python3.11/site-packages"

# As Streamlit 1.67 on Starlette 1.x logged it in CI (frames shortened).
BROWSER_GONE = f"""\
Exception in ASGI application
Traceback (most recent call last):
  File "{_SITE}/streamlit/web/server/starlette/starlette_websocket.py", line 516, in _websocket_endpoint
    data = await websocket.receive_bytes()
  File "{_SITE}/starlette/websockets.py", line 124, in receive_bytes
    raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')
starlette.websockets.WebSocketDisconnected: WebSocket is not connected. Need to call "accept" first.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{_SITE}/streamlit/web/server/starlette/starlette_websocket.py", line 524, in _websocket_endpoint
    await websocket.close()
  File "{_SITE}/starlette/websockets.py", line 104, in send
    raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')
starlette.websockets.WebSocketDisconnected: Cannot call "send" once a close message has been sent.
"""

OURS = """\
2026-12-03 10:00:00 ERROR page failed
Traceback (most recent call last):
  File "/work/ui/pages/thread.py", line 12, in render
    raise KeyError("steps")
KeyError: 'steps'
"""


def test_a_chained_report_is_one_report() -> None:
    (report,) = tracebacks("served\n" + BROWSER_GONE + "more lines\n")
    assert report.startswith("Traceback") and report.endswith("message has been sent.")
    assert report.count("Traceback") == 2


def test_a_browser_that_left_is_excused() -> None:
    assert_no_traceback("You can now view your Streamlit app\n" + BROWSER_GONE)


@pytest.mark.parametrize("log", [OURS, BROWSER_GONE + OURS, OURS + BROWSER_GONE,
                                 BROWSER_GONE.replace("starlette_websocket.py", "our_socket.py"),
                                 "warning: Traceback printed by hand\n"])
def test_any_other_traceback_fails(log: str) -> None:
    with pytest.raises(AssertionError, match="has a traceback"):
        assert_no_traceback(log)
