"""Egress: which addresses HTTP tools may reach. The answers for addresses outside
127.0.0.0/8 are decisions of the policy, tested without connecting; live cases use this
suite's loopback servers, and a refused request must leave zero hits on them."""

from __future__ import annotations

import tracemalloc

import pytest

from agents.tools.http import http_request
from graph.core.egress import EgressPolicy, EgressRefused
from graph.core.errors import ToolRefused
from graph.core.settings import Settings, SettingsError
from tests.security.conftest import HostileServer, bomb

DEFAULT = EgressPolicy()


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("64:ff9b::7f00:1", "loopback"), ("2002:a00:1::1", "private"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fd12:3456::1", "private"),
    ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"), ("168.63.129.16", "cloud metadata"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("100.64.0.1", "not a public address"), ("240.0.0.1", "reserved"),
], ids=lambda value: str(value))
def test_internal_addresses_are_refused_by_default(address: str, reason: str) -> None:
    refusal = DEFAULT.refusal("example.org", 443, address)
    assert refusal is not None and reason in refusal and "[egress] allow" in refusal


def test_public_addresses_pass_on_web_ports_only() -> None:
    assert DEFAULT.refusal("example.org", 443, "93.184.215.14") is None
    assert DEFAULT.refusal("example.org", 80, "2606:2800:21f:cb07:6820:80da:af6b:8b2c") is None
    refusal = DEFAULT.refusal("example.org", 25, "93.184.215.14")
    assert refusal is not None and "port 25" in refusal and "(80, 443)" in refusal


def test_allow_list_opens_exactly_what_it_names() -> None:
    policy = EgressPolicy(allow=("10.20.0.0/16", "wiki.corp.example", "api.corp.example:8443", "*.lab.example",
                                 "[::1]:9000"), ports=(443,))
    assert policy.refusal("x", 80, "10.20.3.4") is None
    assert "private" in (policy.refusal("x", 80, "10.21.0.1") or "")
    assert policy.refusal("wiki.corp.example", 8080, "10.9.9.9") is None  # a named host, any port
    assert policy.refusal("api.corp.example", 8443, "10.9.9.9") is None
    assert "private" in (policy.refusal("api.corp.example", 8444, "10.9.9.9") or "")
    assert policy.refusal("db.lab.example", 5000, "192.168.0.9") is None
    assert "private" in (policy.refusal("lab.example.evil", 5000, "192.168.0.9") or "")
    assert policy.refusal("localhost", 9000, "::1") is None
    assert "loopback" in (policy.refusal("localhost", 9001, "::1") or "")


def test_a_name_with_one_internal_address_is_refused() -> None:
    with pytest.raises(EgressRefused, match=r"rebind\.example \(10\.0\.0\.7\) is a private address"):
        DEFAULT.check("rebind.example", 443, ["93.184.215.14", "10.0.0.7"])


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "host name with spaces", "api.example:http", "h:0"],
                         ids=["bad-prefix", "spaces", "word-port", "port-0"])
def test_a_bad_allow_entry_is_a_settings_error(entry: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PROLIGHT_EGRESS_ALLOW", entry)
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    with pytest.raises(SettingsError, match="bad setting egress"):
        Settings.from_env()


def test_settings_file_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "p.toml").write_text('[egress]\nallow = ["10.1.0.0/16"]\nports = [443, 8443]\n')
    monkeypatch.setenv("PROLIGHT_SETTINGS", str(tmp_path / "p.toml"))
    assert Settings.from_env().egress == EgressPolicy(allow=("10.1.0.0/16",), ports=(443, 8443))
    monkeypatch.setenv("PROLIGHT_EGRESS_ALLOW", "127.0.0.1, wiki.corp")
    assert Settings.from_env().egress.allow == ("127.0.0.1", "wiki.corp")


# ---- live, on this suite's loopback servers ---------------------------------------------
def call(context, url: str, **args: object) -> str:
    return http_request.invoke({"url": url, **args}, config=context.config())


def test_loopback_refused_by_default_with_zero_hits(hostile, make_context) -> None:
    with pytest.raises(EgressRefused, match=r"egress refused: 127\.0\.0\.1 is a loopback address"):
        call(make_context(), hostile.url("/page"))
    assert hostile.total == 0


def test_a_name_resolving_to_loopback_is_refused(hostile, make_context) -> None:
    with pytest.raises(EgressRefused, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback address"):
        call(make_context(), f"http://localhost:{hostile.port}/page")
    assert hostile.total == 0


def test_allowed_loopback_is_reached(hostile, make_context) -> None:
    assert call(make_context(allow=("127.0.0.1",)), hostile.url("/page")) == "hello"
    assert hostile.hits["/page"] == 1


def test_redirect_into_a_refused_server_is_refused(hostile, make_context) -> None:
    inner = HostileServer()
    inner.server.start()
    try:
        context = make_context(allow=(f"127.0.0.1:{hostile.port}",))  # only the outer server
        target = inner.url("/page")
        with pytest.raises(EgressRefused, match=rf"port {inner.port}|127\.0\.0\.1 is a loopback address"):
            call(context, hostile.url(f"/redirect?to={target}"))
        assert hostile.hits["/redirect"] == 1 and inner.total == 0
        with pytest.raises(EgressRefused, match=r"169\.254\.169\.254 is a cloud metadata address"):
            call(context, hostile.url("/redirect?to=http://169.254.169.254/latest/meta-data/"))
    finally:
        inner.server.stop()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "/etc/passwd"],
                         ids=["file", "ftp", "gopher", "no-scheme"])
def test_non_http_schemes_are_refused(url: str, make_context) -> None:
    with pytest.raises(ToolRefused, match="only http and https URLs are allowed"):
        call(make_context(allow=("127.0.0.1",)), url)


def test_redirect_to_a_non_http_scheme_is_refused(hostile, make_context) -> None:
    with pytest.raises(ToolRefused, match="not http or https"):
        call(make_context(allow=("127.0.0.1",)), hostile.url("/redirect?to=file:///etc/passwd"))


@pytest.mark.parametrize("chunked", ["", "1"], ids=["declared", "chunked"])
def test_oversized_response_is_refused(chunked: str, hostile, make_context) -> None:
    context = make_context(allow=("127.0.0.1",), http_max_bytes=100_000)
    with pytest.raises(ToolRefused, match="exceeds the 100000-byte cap"):
        call(context, hostile.url(f"/big?size=400000&chunked={chunked}"))


def test_compressed_bomb_is_refused_without_inflating_it(hostile, make_context) -> None:
    """50 MB of zeros in about 50 KB of gzip: refused at the cap, and the inflated bytes
    held at any moment stay near the cap (httpx's own decoder would inflate whole chunks)."""
    context = make_context(allow=("127.0.0.1",), http_max_bytes=1_000_000)
    assert len(bomb(50_000_000)) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(ToolRefused, match="exceeds the 1000000-byte cap"):
            call(context, hostile.url("/bomb?size=50000000"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"peak {peak} bytes while reading a bomb"
    assert call(context, hostile.url("/bomb?size=1000")) == "\0" * 1000  # a small gzip answer is read


def test_the_refusal_is_the_steps_error_and_is_not_retried(settings: Settings, hostile) -> None:
    """Through the executor, on the default policy: the step FAILED at its first attempt
    with the reason, the thread FAILED, the server never reached."""
    from graph.core.schemas import Plan, Status
    from graph.operations import Operations

    ops = Operations.open(settings.model_copy(update={"egress": EgressPolicy()}))  # the default policy
    try:
        plan = Plan.model_validate({"goal": "fetch", "steps": [
            {"id": "page", "tool": "http_request", "args": {"url": f"http://localhost:{hostile.port}/page"}}]})
        view = ops.approve(ops.start(None, plan).thread_id)
    finally:
        ops.close()
    step = view.steps["page"]
    assert view.status == Status.FAILED and step.attempts == 1
    assert step.error.startswith("EgressRefused: egress refused: localhost (")
    assert "is a loopback address; allow it in the settings' [egress] allow list" in step.error
    assert hostile.total == 0
