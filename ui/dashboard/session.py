"""The dashboard's session: the one ``Operations`` of the process, who the operator is, and
how a page opens a thread. Pages call the operations API through ``operations()`` and
nothing else of the engine; every command they send is queued (``queue=True``) and the
process's run manager executes it on its own threads, so no graph ever runs inside a
script run (a click or a refresh would stop it)."""

from __future__ import annotations

import streamlit as st

from graph.operations import Operations, RequestError
from graph.operations.access import is_loopback
from graph.operations.commands import COMMANDS
from graph.operations.commands import may as role_allows
from graph.operations.config import Settings, configure_logging
from graph.operations.ids import resolve_thread_id
from graph.operations.models import Action, ThreadView
from ui.dashboard import sign_in
from ui.dashboard.plain import plain

THREAD_PAGE = "screens/thread.py"
THREAD_PARAM = "thread_id"
SETTINGS_KEY = "run_settings"
LIVE_REFRESH_S = 0.7  # a thread page redraws its live parts: an event shows within about a second


def _close(ops: Operations) -> None:
    ops.close()


@st.cache_resource(on_release=_close, show_spinner=False)
def _operations(db: str, _settings: Settings) -> Operations:
    """One per database and process, shared by every browser session. The API is
    thread-safe (one lock-guarded connection) and its run manager works on background
    threads, which never call ``st.*``. Keyed by the database only (``_settings`` is not
    hashed): the settings of the run that first opened it stay with it."""
    configure_logging(_settings.log_level or "INFO", _settings.log_format)
    ops = Operations.open(_settings)
    ops.start_run_manager()
    return ops


def read_settings() -> Settings:
    """Read the settings once per script run (the entry script does), so an edited settings
    file takes effect with the next click, and keep them for the rest of the run."""
    st.session_state[SETTINGS_KEY] = Settings.from_env()
    return st.session_state[SETTINGS_KEY]


def settings() -> Settings:
    return st.session_state.get(SETTINGS_KEY) or read_settings()


def operations() -> Operations:
    current = settings()
    return _operations(current.db, current)


def operator() -> str:
    """The name decisions and new runs are recorded under: the signed-in account's, or with
    no accounts configured the display name typed in the sidebar."""
    account = sign_in.signed_in(settings())
    return account.name if account else st.session_state.get("operator_name") or "operator"


def may(action: Action | str) -> bool:
    """Whether this visitor may send ``action``; pages show only the buttons it may use.
    With no accounts configured everyone may (the sidebar says so)."""
    accounts = settings().accounts
    if not accounts:
        return True
    account = sign_in.signed_in(settings())
    return account is not None and role_allows(account.roles, Action(action))


def open_thread(thread_id: str) -> None:
    """Show the thread's page; the id rides in the URL, so a refresh or a shared link
    opens the same thread."""
    st.switch_page(THREAD_PAGE, query_params={THREAD_PARAM: thread_id})


def shown_thread_id() -> str | None:
    value = st.query_params.get(THREAD_PARAM)
    return value.strip() if value else None


def find_thread(text: str) -> ThreadView | str:
    """The thread a pasted id (or an id prefix only one thread has) names, or why none."""
    text = text.strip()
    if not text:
        return "paste a thread id"
    ops = operations()
    try:
        return ops.thread(resolve_thread_id(ops, text))
    except RequestError as exc:
        return str(exc)


def sidebar() -> None:
    """On every page: who is operating, and a box that opens a thread by its id."""
    with st.sidebar:
        account = sign_in.signed_in(settings())
        if account is not None:
            st.text(f"Signed in as {account.name} ({account.role_label})")
            st.button("Sign out", key="sign_out", on_click=sign_in.sign_out)
            sign_in.keep_cookie()
        else:
            st.text_input("Your name", key="operator_name", placeholder="operator",
                          help="Decisions and new runs are recorded under this name.")
            where = "It listens on 127.0.0.1 only." if is_loopback(st.get_option("server.address")) else \
                "It listens beyond this machine (dashboard_open is set)."
            st.caption(":material/warning: No operator accounts: anyone who can reach this port can approve. "
                       + where)
        with st.form("open_thread", border=False, clear_on_submit=True):
            pasted = st.text_input("Open a thread", placeholder="thread id or its first characters")
            if st.form_submit_button("Open"):
                found = find_thread(pasted)
                if isinstance(found, str):
                    st.error(plain(found))
                else:
                    open_thread(found.thread_id)


def request(action: Action | str, thread_id: str | None = None, **fields: object) -> str | None:
    """Send a queued command of the table (the run manager carries it out); the refusal's
    one-line message, or None. ``fields``: the rest of the command's request."""
    action = Action(action)
    if not may(action):  # the page hides what the account may not do; this is the backstop
        return f"your account may not {action}"
    ids = {} if thread_id is None else {"thread_id": thread_id}
    try:
        operations().send(COMMANDS[action].request(**ids, **fields), operator=operator(), queue=True)
    except RequestError as exc:
        return str(exc)
    return None


def send(action: Action | str, thread_id: str, **fields: object) -> None:
    """``request`` for the thread page, which shows the refusal, or a notice, on its next run."""
    refused = request(action, thread_id, **fields)
    if refused:
        st.session_state["thread_error"] = refused
    else:
        st.session_state["thread_notice"] = f"{action} sent"
