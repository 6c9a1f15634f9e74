"""The production path: `check --deploy` with .env.example's values, compressed hashed static
files served by whitenoise, and gunicorn serving the app with its config file."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def example_environment() -> dict[str, str]:
    """.env.example's KEY=VALUE lines, read the way django-environ reads them (no quoting)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def production_env(**overrides: str) -> dict[str, str]:
    # A clean environment: nothing from the test run (DJANGO_SETTINGS_MODULE, DATABASE_URL, ...).
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    env.update(example_environment())
    # The one value an example file must not provide: every deployment makes its own.
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["DJANGO_SETTINGS_MODULE"] = "shiptrack.settings"
    env.update(overrides)
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_example_environment_is_production():
    values = example_environment()
    assert values["DEBUG"] == "0"
    assert "SECRET_KEY" in values


@pytest.mark.slow
def test_check_deploy_reports_nothing_with_the_example_environment():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.slow
def test_check_deploy_flags_the_example_placeholder_secret():
    """The example's SECRET_KEY is a placeholder; a deployment that keeps it is told so."""
    result = check_deploy(production_env(SECRET_KEY=example_environment()["SECRET_KEY"]))
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "warning"),
    [
        ("SESSION_COOKIE_SECURE", "0", "security.W012"),
        ("CSRF_COOKIE_SECURE", "0", "security.W016"),
        ("SECURE_HSTS_SECONDS", "0", "security.W004"),
        ("SECURE_SSL_REDIRECT", "0", "security.W008"),
        ("DEBUG", "1", "security.W018"),
    ],
)
def test_check_deploy_notices_each_weakened_setting(name, value, warning):
    result = check_deploy(production_env(**{name: value}))
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


@pytest.fixture
def collected(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    return tmp_path


def test_collectstatic_writes_hashed_compressed_files(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    for name in ("css/base.css", "leaflet/leaflet.js", "leaflet/leaflet.css"):
        hashed = manifest[name]
        assert hashed != name and hashed.rsplit(".", 2)[-2]  # name.<hash>.ext
        assert (collected / hashed).is_file()
        assert (collected / f"{hashed}.gz").is_file()


@pytest.mark.django_db
def test_whitenoise_serves_hashed_files_for_a_year(collected, client):
    page = client.get("/").content.decode()
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    url = f"/static/{manifest['css/base.css']}"
    assert url in page  # pages link to the hashed name
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert "max-age=315360000" in response["Cache-Control"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else "")
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


# Not a transactional test: gunicorn only reads what the test database already has committed
# (tables, seeded carriers), and a transactional test would flush the seed for the tests after it.
@pytest.mark.slow
@pytest.mark.django_db
def test_gunicorn_serves_healthz_with_the_config_file():
    port = _free_port()
    env = production_env(
        DATABASE_URL=_database_url(),
        ALLOWED_HOSTS="127.0.0.1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_ACCESSLOG="-",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        # Generous limits: this machine may be busy with other work while the suite runs.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and body is None:
            try:
                # Plain HTTP: /healthz is exempt from SECURE_SSL_REDIRECT.
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as r:
                    assert r.status == 200
                    assert r.headers["Strict-Transport-Security"] is None  # HSTS only over HTTPS
                    body = json.loads(r.read())
            except urllib.error.HTTPError:
                raise
            except OSError:  # not listening yet (refused, reset, timed out)
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        assert body is not None, "gunicorn did not answer"
        assert body["status"] == "ok"
        # Any other page over plain HTTP is sent to HTTPS.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/")
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(request, timeout=30)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"] == f"https://127.0.0.1:{port}/"
        # Behind the proxy (X-Forwarded-Proto from a trusted address): HSTS on, secure cookies.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/staff/login/", headers={"X-Forwarded-Proto": "https"}
        )
        with opener.open(request, timeout=30) as page:
            assert page.status == 200
            assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
            assert "nonce-" in page.headers["Content-Security-Policy"]
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert '"GET /healthz HTTP/1.1" 200' in output  # one access line per request, with timing


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
