"""The ShipEngine API key never appears in logs, pages or error reports.

A real tracked call runs against a local sandbox HTTP server that only accepts a distinctive key;
every log record (DEBUG and up, including urllib3's), every page staff and customers can open, the
`track` command's output and Django's error reports are then searched for it.
"""

import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.views.debug import get_exception_reporter_class

from tracking import services
from tracking.models import ApiCall, Shipment
from tracking.ops.logging import REDACTED, RedactSecretsFilter, logged_task, redact, timed
from tracking.sandbox import Sandbox, serve_in_thread
from tracking.services import api_client
from tracking.shipengine import ApiError, TransportError

KEY = "TEST_Zq9vXw7tracking_key_DoNotLeak_5e1c"
EPOCH = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def keyed_api(settings) -> Iterator[str]:
    """Settings pointing the real client (not the in-process sandbox) at a local HTTP server."""
    sandbox = Sandbox(epoch=EPOCH, clock=lambda: EPOCH, api_key=KEY)
    servers = serve_in_thread(sandbox, stall_seconds=1)
    url = servers.__enter__()
    settings.SHIPENGINE_API_KEY = KEY
    settings.SHIPENGINE_BASE_URL = url
    settings.SHIPENGINE_SANDBOX = False
    settings.SHIPENGINE_MAX_ATTEMPTS = 2
    settings.SHIPENGINE_RETRY_BUDGET = 1.0
    api_client._client_for.cache_clear()
    try:
        yield url
    finally:
        api_client._client_for.cache_clear()
        servers.__exit__(None, None, None)


def _all_log_text(caplog) -> str:
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def _pages(shipment: Shipment) -> list[str]:
    """Every page that shows this shipment or API data. A page that no longer reverses fails the
    test: a renamed page must be put back on this list, not silently left out of the search."""
    wanted = [
        ("public:home", []),
        ("public:track_page", [shipment.public_token]),
        ("staff:shipment_list", []),
        ("staff:shipment_detail", [shipment.pk]),
        ("admin:tracking_shipment_changelist", []),
        ("admin:tracking_shipment_change", [shipment.pk]),
        ("admin:tracking_apicall_changelist", []),
        ("admin:tracking_carrier_changelist", []),
        ("healthz", []),
    ]
    urls = []
    for name, args in wanted:
        try:
            urls.append(reverse(name, args=args))
        except NoReverseMatch:
            pytest.fail(
                f"the page {name!r} no longer reverses: put it back on the list under its new name"
            )
    urls.append(f"{reverse('staff:shipment_list')}?q={shipment.tracking_number}")
    return urls


@pytest.mark.django_db
def test_a_page_that_no_longer_reverses_fails_the_leak_test(monkeypatch):
    import tests.test_secrets_in_logs as this

    def renamed(name, args=None, real=reverse):
        if name == "staff:shipment_detail":
            raise NoReverseMatch(name)
        return real(name, args=args)

    monkeypatch.setattr(this, "reverse", renamed)
    shipment = Shipment(pk=1, public_token="t" * 43, tracking_number="1Z999AA10123456784")
    with pytest.raises(pytest.fail.Exception, match="'staff:shipment_detail' no longer reverses"):
        _pages(shipment)


@pytest.mark.django_db
def test_api_key_is_not_in_logs_pages_or_command_output(keyed_api, admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    # Management commands quieten "shiptrack" for the rest of the process; open it up again.
    caplog.set_level(logging.DEBUG, logger="shiptrack")
    shipment = services.track_shipment(carrier_code="ups", tracking_number="1Z999AA10123456784")
    # The failure paths log and store errors too: an API error, retries, a network failure.
    with pytest.raises(ApiError):
        services.track_shipment(carrier_code="ups", tracking_number="FAULT-401")
    with pytest.raises(ApiError):
        services.track_shipment(carrier_code="ups", tracking_number="FAULT-500")
    out = io.StringIO()
    call_command("track", "ups", "1Z999AA10123456784", "--json", stdout=out)

    logs = _all_log_text(caplog)
    # The call really went over HTTP with the key (else this test proves nothing).
    assert "shipengine call method=GET" in logs
    assert ApiCall.objects.filter(http_status=200).exists()
    assert ApiCall.objects.filter(http_status=401).exists()
    assert KEY not in logs
    assert KEY not in out.getvalue()
    shipment.refresh_from_db()
    assert KEY not in shipment.last_error
    assert KEY not in str(shipment.raw_response)

    pages = _pages(shipment)
    assert "/" in pages and "/healthz" in pages
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert KEY.encode() not in response.content, url


@pytest.mark.django_db
def test_network_failure_message_has_no_key(settings, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="shiptrack")
    settings.SHIPENGINE_API_KEY = KEY
    settings.SHIPENGINE_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.SHIPENGINE_SANDBOX = False
    settings.SHIPENGINE_MAX_ATTEMPTS = 1
    api_client._client_for.cache_clear()
    try:
        with pytest.raises(TransportError) as caught:
            services.track_shipment(carrier_code="ups", tracking_number="1Z999AA10123456784")
    finally:
        api_client._client_for.cache_clear()
    assert KEY not in str(caught.value)
    assert KEY not in _all_log_text(caplog)


def _raise_with_key_in_frame() -> None:
    client = api_client.get_client()  # its session headers and config hold the key
    api_key = client.config.api_key
    raise RuntimeError(f"failed while using key {api_key}")


@pytest.mark.django_db
def test_error_reports_have_no_key(keyed_api, settings):
    request = RequestFactory().get("/staff/", HTTP_API_KEY=KEY)
    try:
        _raise_with_key_in_frame()
    except RuntimeError:
        exc_info = sys.exc_info()
    reporter_class = get_exception_reporter_class(request)
    reporter = reporter_class(request, *exc_info)
    text = reporter.get_traceback_text()
    page = reporter.get_traceback_html()
    assert "_raise_with_key_in_frame" in text  # a real report, with the frame in it
    assert REDACTED in text  # the key was there (locals, message, header) and was replaced
    assert KEY not in text
    assert KEY not in page


@pytest.mark.django_db
def test_admin_error_email_has_no_key(keyed_api, settings):
    settings.ADMINS = ["ops@example.com"]
    settings.DEBUG = False
    request = RequestFactory().get("/staff/")
    try:
        _raise_with_key_in_frame()
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s (%s)",
            request.path,
            KEY,
            exc_info=True,
            extra={"status_code": 500, "request": request},
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Internal Server Error" in message.subject
    assert KEY not in message.subject
    assert KEY not in message.body
    assert REDACTED in message.body
    assert "_raise_with_key_in_frame" in message.body
    for alternative, _mime in getattr(message, "alternatives", []):
        assert KEY not in str(alternative)


def _record(msg: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_filter_redacts_message_arguments_and_tracebacks(settings):
    settings.SHIPENGINE_API_KEY = KEY
    try:
        raise ValueError(f"boom {KEY}")
    except ValueError:
        exc_info = sys.exc_info()
    record = _record("calling with %s", KEY, exc_info=exc_info)
    assert RedactSecretsFilter().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert KEY not in formatted
    assert f"calling with {REDACTED}" in formatted
    assert "ValueError: boom [redacted]" in formatted


def test_filter_leaves_ordinary_records_alone(settings):
    settings.SHIPENGINE_API_KEY = KEY
    record = _record("shipengine call ms=%d", 12)
    RedactSecretsFilter().filter(record)
    assert record.msg == "shipengine call ms=%d"
    assert record.args == (12,)


def test_short_or_empty_keys_do_not_redact_words(settings):
    settings.SHIPENGINE_API_KEY = "abc"
    assert redact("abc def") == "abc def"
    settings.SHIPENGINE_API_KEY = ""
    assert redact("anything") == "anything"


def test_html_escaped_secret_is_redacted(settings):
    settings.SHIPENGINE_API_KEY = "key<with>&odd'chars"
    assert redact("x key&lt;with&gt;&amp;odd&#x27;chars y") == f"x {REDACTED} y"


def test_every_configured_handler_redacts(settings):
    """The console handler from settings.LOGGING carries the filter: a line written through it
    has no key even when the code that logs it is careless."""
    settings.SHIPENGINE_API_KEY = KEY
    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert handlers, "settings.LOGGING's console handler is not installed"
    for handler in handlers:
        assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters)
        stream = io.StringIO()
        old = handler.setStream(stream)
        try:
            logging.getLogger("shiptrack.careless").error("key is %s", KEY)
        finally:
            handler.setStream(old)
        assert "key is [redacted]" in stream.getvalue()
        assert KEY not in stream.getvalue()


def test_timed_logs_duration_and_outcome(caplog):
    caplog.set_level(logging.INFO, logger="shiptrack")
    caplog.set_level(logging.INFO, logger="shiptrack.tasks")
    with timed("task", "refresh_shipment", shipment_id=7):
        pass
    with pytest.raises(ValueError), timed("task", "import_csv", job_id=3, name="x.csv"):
        raise ValueError("bad row")
    ok, failed = caplog.records[-2:]
    assert ok.levelno == logging.INFO
    assert ok.getMessage().startswith("task name=refresh_shipment shipment_id=7 ms=")
    assert ok.getMessage().endswith("outcome=ok")
    assert failed.levelno == logging.WARNING
    assert failed.getMessage().startswith("task name=import_csv job_id=3 name=x.csv ms=")
    assert failed.getMessage().endswith("outcome=ValueError")


def test_logged_task_decorator(caplog):
    caplog.set_level(logging.INFO, logger="shiptrack")
    caplog.set_level(logging.INFO, logger="shiptrack.tasks")

    @logged_task
    def refresh_everything(*, shipment_id: int) -> int:
        return shipment_id * 2

    assert refresh_everything(shipment_id=21) == 42
    assert refresh_everything.__name__ == "refresh_everything"
    line = caplog.records[-1].getMessage()
    assert line.startswith("task name=refresh_everything shipment_id=21 ms=")

    @logged_task
    def run_import(job_id: int, note: object = None) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_import(5)  # positional, as tasks are enqueued
    line = caplog.records[-1].getMessage()
    assert line.startswith("task name=run_import job_id=5 ms=")
    assert line.endswith("outcome=RuntimeError")
