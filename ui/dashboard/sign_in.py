"""Who is at the dashboard. With accounts in the settings file every page asks for a
sign-in first (the password checked by ``graph.core.accounts``); a signed-in browser keeps
a random session token in a cookie, so a refresh or a new tab stays signed in. The tokens
live in this process only: a restart of the dashboard signs everyone out, and no secret
needs configuring. With no accounts, the dashboard serves only on loopback (unless the
settings say ``dashboard_open``) and decisions carry a display name typed in the sidebar."""

from __future__ import annotations

import secrets
import threading
import time

import streamlit as st

from graph.operations.access import Account, exposure_problem, verify
from graph.operations.config import Settings

COOKIE = "prolight_session"
SESSION_S = 7 * 24 * 3600
ACCOUNT_KEY = "signed_in_account"
TOKEN_KEY = "signed_in_token"


class SessionTokens:
    """Token → (account name, expiry). Shared by every browser session of the process
    (``st.cache_resource``), so it takes a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def issue(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (name, time.time() + SESSION_S)
        return token

    def holder(self, token: str) -> str | None:
        with self._lock:
            name, expires = self._tokens.get(token, ("", 0.0))
            if expires < time.time():
                self._tokens.pop(token, None)
                return None
            return name

    def end(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)


@st.cache_resource(show_spinner=False)
def _tokens() -> SessionTokens:
    return SessionTokens()


def signed_in(settings: Settings) -> Account | None:
    """The account of this browser session: from this session's sign-in, or from the
    cookie of an earlier one. An account removed from the settings file is signed out."""
    name = st.session_state.get(ACCOUNT_KEY)
    if name is None:
        token = st.context.cookies.get(COOKIE)
        name = _tokens().holder(token) if token else None
        if name is not None:
            st.session_state[ACCOUNT_KEY], st.session_state[TOKEN_KEY] = name, token
    return settings.accounts.get(name) if name else None


def gate(settings: Settings) -> bool:
    """Before any page: whether this visitor may see the dashboard; if not, what stands in
    the way (the refusal, or the sign-in form) is drawn instead."""
    problem = exposure_problem(st.get_option("server.address"), settings.accounts, settings.dashboard_open)
    if problem:
        st.error(f"Not serving: {problem}.")
        return False
    if settings.accounts and signed_in(settings) is None:
        _form(settings)
        return False
    return True


def _form(settings: Settings) -> None:
    st.title("Sign in")
    with st.form("sign_in"):
        name = st.text_input("Account", key="sign_in_name", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        if st.form_submit_button("Sign in", type="primary", key="sign_in_submit"):
            account = verify(settings.accounts, name, password)
            if account is None:
                st.error("Wrong account name or password.")
                return
            st.session_state[ACCOUNT_KEY] = account.name
            st.session_state[TOKEN_KEY] = _tokens().issue(account.name)
            st.rerun()


def sign_out() -> None:
    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        _tokens().end(token)
    st.session_state.pop(ACCOUNT_KEY, None)


def keep_cookie() -> None:
    """Hand this session's token to the browser (once the page holds it, later runs skip
    this). Streamlit has no cookie API for writing, so a script in a same-origin frame
    sets it; the token is random and checked against this process's table."""
    token = st.session_state.get(TOKEN_KEY)
    if token and st.context.cookies.get(COOKIE) != token:
        st.iframe(f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age={SESSION_S}; SameSite=Strict';"
                  "</script>", height=1, alt="sign-in cookie")
