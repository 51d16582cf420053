"""Sessions, roles, CSRF, throttling, cookies and keys."""

from __future__ import annotations

import stat

import pytest

from ground.errors import ConfigError
from tests.web.conftest import PASSWORD, RING_ID
from web import PUBLIC_ENDPOINTS, create_app


def _sample_path(rule) -> str:
    return rule.build({arg: "X" for arg in rule.arguments}, append_unknown=False)[1]


def test_every_route_but_login_and_static_needs_a_session(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = _sample_path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code in (302, 401), (rule.endpoint, method, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
            checked += 1
    assert checked >= 20


def test_login_page_and_static_are_public(app):
    client = app.test_client()
    assert client.get("/login").status_code == 200
    with client.get("/static/app.css") as response:
        assert response.status_code == 200


def test_wrong_password_is_refused_and_audited(app):
    client = app.test_client()
    assert client.post("/login", data={"name": "analyst", "password": "nope"}).status_code == 401
    assert client.get("/").status_code == 302


def test_logins_are_throttled_per_account_and_address(app, filled):
    client = app.test_client()
    for _ in range(filled.login_attempts):
        client.post("/login", data={"name": "admin", "password": "wrong"})
    blocked = client.post("/login", data={"name": "admin", "password": PASSWORD})
    assert blocked.status_code == 429
    other_address = client.post("/login", data={"name": "admin", "password": PASSWORD},
                                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 302


def test_csrf_token_is_required_on_forms_when_enabled(filled):
    app = create_app({"SHABAKA_SETTINGS": filled, "TESTING": True})
    client = app.test_client()
    assert client.post("/login", data={"name": "admin", "password": PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post(f"/cases/{RING_ID}/open", data={}).status_code == 400


def test_session_cookie_is_httponly_and_samesite(app):
    response = app.test_client().post("/login", data={"name": "analyst", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_can_be_required(filled):
    app = create_app({"SHABAKA_SETTINGS": filled, "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": True})
    response = app.test_client().post("/login", data={"name": "analyst", "password": PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]


def test_generated_secret_key_is_kept_in_home_readable_by_owner_only(app, filled):
    key_file = filled.home_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = create_app({"SHABAKA_SETTINGS": filled})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


@pytest.mark.parametrize("mode, text", [(0o644, "0123abcd\n"), (0o600, "  \n")])
def test_a_session_key_file_others_can_read_or_empty_is_refused(filled, mode, text):
    key_file = filled.home_path / "secret_key"
    key_file.unlink(missing_ok=True)
    key_file.write_text(text)
    key_file.chmod(mode)
    with pytest.raises(ConfigError, match="session key"):
        create_app({"SHABAKA_SETTINGS": filled})


def test_configured_secret_key_wins(filled):
    app = create_app({"SHABAKA_SETTINGS": filled.replace(secret_key="s3cret-from-settings")})
    assert app.config["SECRET_KEY"] == "s3cret-from-settings"


def test_logout_ends_the_session(as_role):
    client = as_role("investigator")
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_login_does_not_redirect_off_site(app):
    response = app.test_client().post("/login", data={"name": "analyst", "password": PASSWORD,
                                                      "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_admin_can_add_an_account_and_it_can_sign_in(as_role, app):
    admin = as_role("admin")
    assert admin.post("/admin/users", data={"name": "nadia", "role": "analyst",
                                            "password": "long-enough-pw"}).status_code == 302
    assert app.test_client().post("/login", data={"name": "nadia", "password": "long-enough-pw"}).status_code == 302
    assert admin.post("/admin/users", data={"name": "x", "role": "boss", "password": "long-enough-pw"}).status_code == 400


@pytest.mark.parametrize("role", ["analyst"])
def test_analysts_cannot_change_cases(as_role, role):
    assert as_role(role).post(f"/cases/{RING_ID}/open").status_code == 403
