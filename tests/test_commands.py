"""`manage.py track`, `track --label-id`, `sync_carriers`: output, exit codes, nothing lost."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tracking.models import Carrier, Shipment

ROOT = Path(__file__).resolve().parents[1]
SEED_NUMBER = "9405511899223197428490"
pytestmark = pytest.mark.django_db


def run_json(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("track", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_track_json_prints_the_seed_example_as_stored(seed_example):
    printed = run_json("stamps_com", SEED_NUMBER)
    assert printed["status_code"] == "DE"
    assert len(printed["events"]) == 6
    assert [e["occurred_at"] for e in printed["events"]] == [
        e["occurred_at"] for e in seed_example["events"]
    ]  # newest first, UTC, ISO 8601 with Z
    assert all(e["occurred_at"].endswith("Z") for e in printed["events"])
    for key in seed_example:
        assert key in printed
    assert (
        printed["events"][0]["carrier_occurred_at"] == "2021-09-20T14:03:00"
    )  # as the carrier sent it
    assert Shipment.objects.get().carrier.code == "stamps_com"


def test_track_by_label_id_json():
    printed = run_json("--label-id", "se-324658")
    assert printed["tracking_number"] == SEED_NUMBER and len(printed["events"]) == 6


def test_plain_output_lists_events(capsys):
    call_command("track", "fedex", "794698432183")
    out = capsys.readouterr().out
    assert "fedex 794698432183: IT" in out and "MEMPHIS" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ups", "FAULT-404"], "invalid_identifier"),
        (["ups", "FAULT-401"], "unauthorized"),
        (["no_such_carrier", "1"], "Unknown carrier"),
        (["ups"], "Give CARRIER_CODE and TRACKING_NUMBER"),
        (["--label-id", "se-999"], "invalid_identifier"),
    ],
)
def test_failures_raise_one_clear_command_error(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("track", *args)
    assert "\n" not in str(caught.value)


def test_a_failure_loses_nothing_already_stored(settings, httpserver):
    call_command("track", "stamps_com", SEED_NUMBER)
    shipment = Shipment.objects.get()
    for _ in range(4):
        httpserver.then(500, b"down")
    settings.SHIPENGINE_API_KEY = "k"
    settings.SHIPENGINE_SANDBOX = False
    settings.SHIPENGINE_BASE_URL = httpserver.url
    settings.SHIPENGINE_RETRY_BUDGET = 0.0
    with pytest.raises(CommandError, match="HTTP 500"):
        call_command("track", "stamps_com", SEED_NUMBER)
    shipment.refresh_from_db()
    assert shipment.events.count() == 6 and shipment.status_code == "DE"
    assert "HTTP 500" in shipment.last_error


def test_a_command_leaves_logging_as_it_found_it():
    import logging

    logger = logging.getLogger("shiptrack")
    logger.setLevel(logging.INFO)
    call_command("track", "stamps_com", SEED_NUMBER)  # quiet while it runs (-v 1)...
    assert logger.level == logging.INFO  # ...and the process's logging is as before


def test_sync_carriers_command(capsys):
    call_command("sync_carriers")
    assert "1 added" in capsys.readouterr().out
    assert Carrier.objects.filter(code="sandbox_courier").exists()


def run_manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    """manage.py as a real process, as a person types it."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def fresh_db(tmp_path_factory):
    """A migrated SQLite file for commands run as real processes."""
    path = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DEBUG": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


@pytest.mark.slow
def test_with_an_api_key_the_command_talks_http_to_the_configured_server(
    fresh_db, seed_example, httpserver
):
    httpserver.then(200, seed_example)
    env = {**fresh_db, "SHIPENGINE_API_KEY": "TEST-KEY-42", "SHIPENGINE_BASE_URL": httpserver.url}
    done = run_manage(env, "track", "stamps_com", SEED_NUMBER, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status_code"] == "DE"
    [request] = httpserver.requests
    assert request.headers["API-Key"] == "TEST-KEY-42"
    assert httpserver.target(request).startswith(
        "/v1/tracking?carrier_code=stamps_com&tracking_number="
    )


@pytest.mark.slow
def test_a_failing_api_exits_non_zero_with_one_line_and_no_traceback(fresh_db, httpserver):
    body = {
        "request_id": "aa3d8e8e-462b-4476-9618-72db7f7b7009",
        "errors": [
            {
                "error_source": "shipengine",
                "error_type": "security",
                "error_code": "unauthorized",
                "message": "The API key is invalid.",
            }
        ],
    }
    httpserver.then(401, body)
    env = {**fresh_db, "SHIPENGINE_API_KEY": "bad", "SHIPENGINE_BASE_URL": httpserver.url}
    done = run_manage(env, "track", "ups", "1Z999AA10123456784")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "The API key is invalid." in lines[0] and "unauthorized" in lines[0]


@pytest.mark.slow
def test_network_failure_exits_non_zero_cleanly(fresh_db):
    env = {
        **fresh_db,
        "SHIPENGINE_API_KEY": "k",
        "SHIPENGINE_BASE_URL": "http://127.0.0.1:9",  # discard port: nothing listens
        "SHIPENGINE_MAX_ATTEMPTS": "1",
    }
    done = run_manage(env, "track", "ups", "1Z999AA10123456784")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Could not reach ShipEngine" in done.stderr
