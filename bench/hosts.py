"""Benchmark: two hosts on one PostgreSQL and one Redis, and what must hold across them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/1 python -m bench hosts [--signatures 1000] [--clients 32]

Scale-out means more web processes and more workers on other machines, all
on the one PostgreSQL and the one Redis. This runs two such "hosts" on this
machine, host A and host B, each one gunicorn group (its own listening
socket and port, its own process group; 2 workers x 2 threads by default)
and one Celery worker (its own process group, node name `hostA-<pid>@...`),
with one beat for the deployment (embedded in host A's worker; production
runs it as a service of its own). They share the run's own database
(`<DATABASE_URL's name>_hosts_<pid>`, dropped at the end), the run's Redis
key prefix and Celery queue, the one SECRET_KEY and one SMTP sink (the mail
relay). They are separate process groups with their own ports, not network
namespaces: bench/README.md says why.

Then, each printed as PASS or FAIL with its figures (exit status 0 only
when every one passes; no time is asserted, the delays are for people):

- pause across hosts: an organiser signs in on host A and pauses signing in
  the admin; every poll of host B's campaign page shows the pause soon after
  (the measured delay, against the campaign's documented per-process
  lifetime); the same session resumes signing through host B, and host A
  shows the form again.
- rate limit across hosts: submissions from one address all to host A, and
  as many from another address split between A and B; as many are held as
  suspect for the rate in both cases (the limit counts both hosts' requests
  together, in Redis), and what per-host counting would have held is shown.
- the load: every simulated signer opens the campaign page on one host and
  posts the form to the other (the page's form token and CSRF cookie
  verify across hosts); a signer who signs twice does so on both hosts;
  confirm links are followed on either host (a few twice, on both).
- figures cache across hosts: one confirmation through host A is in host
  B's figures.json after the measured delay (documented: cached in Redis
  for a few seconds and recounted on that timer; the confirmation's own
  page counts its signer at once).
- counts: host A's and host B's figures.json, the stored tallies, a true
  COUNT of confirmed signatures and the distinct signers who confirmed all
  equal the distinct signers who submitted.
- exactly-once mail: both workers drained the one queue; every message of
  the outbox reached the sink once (Message-IDs counted there), each
  recipient got as many as the outbox holds for them, and everyone who
  submitted once got exactly one.
- throughput: signatures/s for the run and per host (the host that took the
  POST), and the PostgreSQL connections at the peak, per process.
"""

from __future__ import annotations

import argparse
import email
import http.client
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bench import signing
from bench.databases import database_create, database_drop, run_database

HOSTS = ("hostA", "hostB")
# Submissions from one address in the rate-limit check: well over the burst
# limit (10/m by default), under the sustained one (60/h).
RATE_SUBMISSIONS = 25
# Fresh connections in a row that must all show a change before it counts as
# seen by every process of a host (each new connection goes to whichever
# gunicorn worker accepts it first).
POLLS_IN_A_ROW = 20


def _other(host: str) -> str:
    return HOSTS[1] if host == HOSTS[0] else HOSTS[0]


# --- The mail relay -----------------------------------------------------------


class MailRelay(signing.SmtpSink):
    """The SMTP sink both hosts' workers send to, counting each Message-ID
    and the messages each recipient got."""

    def __init__(self) -> None:
        super().__init__()
        self.message_ids: Counter[str] = Counter()
        self.per_recipient: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.message_ids[str(message["Message-ID"])] += 1
            for recipient in envelope.rcpt_tos:
                self.per_recipient[recipient] += 1
        return await super().handle_DATA(server, session, envelope)


# --- Browsers -----------------------------------------------------------------


class Browser:
    """One person's browser in front of the two hosts, as behind a load
    balancer: a keep-alive connection to each, one cookie for both."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.hosts = {host: signing.Client(port) for host, port in ports.items()}
        first = self.hosts[HOSTS[0]]
        first.open_campaign()  # the CSRF cookie, set by host A, sent to both
        for client in self.hosts.values():
            client.cookie, client.csrf = first.cookie, first.csrf

    def sign_across(self, person: dict[str, str], page_host: str, post_host: str) -> int:
        """Open the campaign page on one host, post its form to the other."""
        token = self.hosts[page_host].page_form_token(person["lang"])
        return self.hosts[post_host].sign(person, form_token=token)


class SignedInClient(signing.Client):
    """A client that keeps every cookie it is given (a signed-in organiser)."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.jar: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        status, page, response = super().request(method, path, body, headers)
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _equals, value = header.split(";", 1)[0].partition("=")
            self.jar[name.strip()] = value
        self.csrf = self.jar.get("csrftoken", "")
        self.cookie = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        return status, page, response

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, bytes]:
        status, page, _response = self.request(
            "POST",
            path,
            body=urlencode({"csrfmiddlewaretoken": self.csrf, **fields}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return status, page

    def move_to(self, port: int) -> None:
        """The same browser (the same cookies) sent to the other host."""
        self.connection.close()
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


# --- Checks -------------------------------------------------------------------


@dataclass
class Check:
    name: str
    passed: bool
    figures: str


@dataclass
class HostsResult:
    database: str = ""
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # figures for people, not checked

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)


def _organiser_create() -> tuple[str, str]:
    """A superuser (no second factor) to pause and resume signing in the
    admin, as an organiser would. Returns (e-mail, password)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    address, password = "organiser@bench.example", secrets.token_urlsafe(24)
    user = get_user_model().objects.create_superuser(
        username="organiser", email=address, password=password
    )
    EmailAddress.objects.create(user=user, email=address, verified=True, primary=True)
    return address, password


def _sign_in(port: int, address: str, password: str) -> SignedInClient:
    organiser = SignedInClient(port)
    organiser.request("GET", "/en/accounts/login/")  # the CSRF cookie
    status, page = organiser.post_form(
        "/en/accounts/login/", {"login": address, "password": password}
    )
    if status != 302 or "sessionid" not in organiser.jar:
        raise RuntimeError(f"signing in answered {status}: {page[:300]!r}")
    return organiser


def _admin_action(organiser: SignedInClient, action: str, campaign_pk: int) -> None:
    status, page = organiser.post_form(
        "/en/admin/campaigns/campaign/",
        {"action": action, "_selected_action": str(campaign_pk), "index": "0"},
    )
    if status != 302:
        raise RuntimeError(f"admin action {action} answered {status}: {page[:300]!r}")


def _form_shown(port: int) -> bool:
    """Whether a new reader of the campaign page on `port` gets the signing
    form (a paused campaign shows its pause message instead)."""
    client = signing.Client(port)  # a new connection: any worker may take it
    try:
        status, page, _response = client.request("GET", f"/en/campaigns/{signing.CAMPAIGN_SLUG}/")
    finally:
        client.connection.close()
    if status != 200:
        raise RuntimeError(f"campaign page answered {status}")
    return b'name="form_token"' in page


def _seen_after(
    read: Callable[[], bool], since: float, deadline_seconds: float
) -> tuple[float | None, float | None]:
    """Poll `read()` (True: the change is seen) until it is seen
    POLLS_IN_A_ROW times in a row. Returns (the first answer that saw it,
    the last answer that did not), in seconds after `since`; the first is
    None if it was never seen in a row before the deadline."""
    first_seen: float | None = None
    last_stale: float | None = None
    in_a_row = 0
    while time.monotonic() - since < deadline_seconds:
        seen = read()
        now = time.monotonic() - since
        if seen:
            first_seen = now if first_seen is None else first_seen
            in_a_row += 1
            if in_a_row >= POLLS_IN_A_ROW:
                return first_seen, last_stale
        else:
            last_stale, in_a_row = now, 0
        time.sleep(0.05)
    return None, last_stale


def _check_pause(
    hosts: dict[str, signing.Stack], campaign_pk: int, organiser_login: tuple[str, str]
) -> Check:
    """Pause through host A's admin, seen by host B; resume through host B
    with the session made on host A (sessions are in PostgreSQL), seen by A."""
    from campaigns.published import PUBLISHED_TTL_SECONDS

    deadline = 2 * PUBLISHED_TTL_SECONDS + 10
    a, b = (hosts[host].http_port for host in HOSTS)
    organiser = _sign_in(a, *organiser_login)
    # Every process of host B keeps the campaign as it is now, freshly read:
    # what follows measures how long a kept copy outlives the change.
    for _poll in range(POLLS_IN_A_ROW):
        _form_shown(b)
    _admin_action(organiser, "pause_signing", campaign_pk)
    paused_at = time.monotonic()
    paused_seen, paused_stale = _seen_after(lambda: not _form_shown(b), paused_at, deadline)
    for _poll in range(POLLS_IN_A_ROW):
        _form_shown(a)
    organiser.move_to(b)
    _admin_action(organiser, "resume_signing", campaign_pk)
    resumed_at = time.monotonic()
    resumed_seen, resumed_stale = _seen_after(lambda: _form_shown(a), resumed_at, deadline)
    # Host B's own processes keep the paused campaign as long (the admin
    # action updates the row without a save signal): wait for them too
    # before anyone signs.
    _seen_after(lambda: _form_shown(b), resumed_at, deadline)

    def seen(first: float | None, stale: float | None) -> str:
        if first is None:
            return f"NOT seen within {deadline:.0f} s"
        last = "no old answer" if stale is None else f"last old answer at {stale:.1f} s"
        return f"first seen at {first:.1f} s, {last}"

    return Check(
        "pause across hosts",
        paused_seen is not None and resumed_seen is not None,
        f"paused via host A's admin, host B: {seen(paused_seen, paused_stale)};"
        f" resumed via host B (session from host A), host A:"
        f" {seen(resumed_seen, resumed_stale)}"
        f" (documented: each process keeps a campaign {PUBLISHED_TTL_SECONDS:.0f} s)",
    )


def _check_rate_limits(hosts: dict[str, signing.Stack], submissions: int) -> Check:
    """`submissions` from one address all to host A, as many from another
    split between A and B: held as suspect for the rate as often.

    Two addresses of TEST-NET-3 this run has not used: a window starts with
    an address's first signature (core.marks), so both have whole windows
    ahead, and every submission is sent well within the burst window."""
    from django.db import connection

    from core.rates import rate_window
    from signatures import policy
    from signatures.models import Signature

    limits = policy.rate_limits()
    allowed = min(rate_window(limits.burst)[0], rate_window(limits.sustained)[0])
    expected = max(0, submissions - allowed)
    candidates = [str(address) for address in ipaddress.ip_network("203.0.113.0/24").hosts()]
    one_host, both_hosts = secrets.SystemRandom().sample(candidates, 2)
    ports = {host: hosts[host].http_port for host in HOSTS}
    failures: list[str] = []

    def send(address: str, split: bool) -> None:
        try:
            send_all(address, split)
        except Exception as failure:  # counted as a failure of the check
            failures.append(f"{address}: {type(failure).__name__}: {failure}")

    def send_all(address: str, split: bool) -> None:
        browser = Browser(ports)
        for number in range(submissions):
            post_host = HOSTS[number % 2] if split else HOSTS[0]
            person = {
                "name": f"Rate {number}",
                "email": f"rate-{address}-{number}@bench.example",
                "country": "KH",
                "lang": "en",
                "ip": address,
            }
            status = browser.sign_across(
                person, _other(post_host) if split else HOSTS[0], post_host
            )
            if status != 302:
                failures.append(f"{address}: HTTP {status}")

    senders = [
        threading.Thread(target=send, args=(one_host, False)),
        threading.Thread(target=send, args=(both_hosts, True)),
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()

    # The workers store the submissions (the drain): wait for every one.
    deadline = time.monotonic() + 120
    stored = Signature.objects.filter(ip_address__in=[one_host, both_hosts])
    while stored.count() < 2 * submissions and time.monotonic() < deadline:
        time.sleep(0.5)
    held = {
        address: Signature.objects.filter(
            ip_address=address, suspect_reason=policy.OVER_RATE_LIMIT_REASON
        ).count()
        for address in (one_host, both_hosts)
    }
    connection.close()
    per_host_would_be = max(0, submissions - 2 * allowed)
    return Check(
        "rate limit across hosts",
        not failures and held[one_host] == held[both_hosts] == expected,
        f"{submissions} from one address: all to host A {held[one_host]} held,"
        f" split A/B {held[both_hosts]} held (limit {limits.burst} and {limits.sustained}:"
        f" {expected} expected; counted per host it would be {per_host_would_be});"
        f" failed requests {len(failures)}" + (f" ({failures[0]})" if failures else ""),
    )


@dataclass
class Load:
    """What the load left: what the later checks compare against."""

    submissions: int
    distinct_signers: set[str]
    submitted_once: set[str]
    seconds: float
    posts_by_host: Counter[str]
    errors: list[str]
    dropped: list[str]
    held_back_link: str  # one signer's confirmation, for the figures cache check
    confirm_seconds: float = 0.0
    mail_seconds: float = 0.0


def _sign_across_hosts(
    hosts: dict[str, signing.Stack],
    relay: MailRelay,
    clients: int,
    signatures: int,
    duplicate_share: float,
    log: Callable[[str], None],
) -> Load:
    ports = {host: hosts[host].http_port for host in HOSTS}
    people = signing._people(signatures, duplicate_share)
    # The POST alternates between hosts; the page comes from the other one;
    # a signer who signs again posts to the host they did not post to before.
    jobs: list[tuple[dict[str, str], str, str]] = []
    last_post: dict[str, str] = {}
    for number, person in enumerate(people):
        previous = last_post.get(person["email"])
        post_host = _other(previous) if previous else HOSTS[number % 2]
        last_post[person["email"]] = post_host
        jobs.append((person, _other(post_host), post_host))
    submissions_per_signer = Counter(person["email"] for person in people)
    distinct = set(submissions_per_signer)
    posts_by_host: Counter[str] = Counter()
    tally_lock = threading.Lock()

    def sign(browser: Browser, job: tuple[dict[str, str], str, str]) -> int:
        person, page_host, post_host = job
        status = browser.sign_across(person, page_host, post_host)
        if status == 302:
            with tally_lock:
                posts_by_host[post_host] += 1
        return status

    log(
        f"submitting {len(people)} signatures ({len(distinct)} distinct) from {clients}"
        " clients, page on one host, form posted to the other..."
    )
    submitted, seconds = signing.drive(lambda: Browser(ports), clients, jobs, sign, {302})

    log("waiting for the confirmation e-mails...")
    mail_started = time.monotonic()
    while time.monotonic() - mail_started < 300:
        with relay.lock:
            if all(relay.links.get(address) for address in distinct):
                break
        time.sleep(0.5)
    mail_seconds = time.monotonic() - mail_started

    with relay.lock:
        links = [
            relay.links[address][-1] for address in sorted(distinct) if relay.links.get(address)
        ]
    held_back, links = links[-1], links[:-1]
    # Alternate hosts; a few people click twice, the second time on the other host.
    clicks = [(link, HOSTS[number % 2]) for number, link in enumerate(links)]
    clicks += [(link, _other(host)) for link, host in clicks[: len(clicks) // 20]]
    log(f"confirming {len(clicks)} links on both hosts...")
    confirmed, confirm_seconds = signing.drive(
        lambda: Browser(ports),
        clients,
        clicks,
        lambda browser, click: browser.hosts[click[1]].request("GET", click[0])[0],
        {200},
    )
    return Load(
        submissions=len(people),
        distinct_signers=distinct,
        submitted_once={address for address, n in submissions_per_signer.items() if n == 1},
        seconds=seconds,
        posts_by_host=posts_by_host,
        errors=submitted.errors + confirmed.errors,
        dropped=submitted.dropped_clients + confirmed.dropped_clients,
        held_back_link=held_back,
        confirm_seconds=confirm_seconds,
        mail_seconds=mail_seconds,
    )


def _figures_total(port: int) -> int:
    client = signing.Client(port)
    try:
        status, body, _response = client.request(
            "GET", f"/en/campaigns/{signing.CAMPAIGN_SLUG}/figures.json"
        )
    finally:
        client.connection.close()
    if status != 200:
        raise RuntimeError(f"figures.json answered {status}")
    return int(json.loads(body)["total"])


def _check_figures_cache(hosts: dict[str, signing.Stack], load: Load) -> Check:
    """Host B's figures.json, read (so cached) just before one confirmation
    through host A, counts it after the measured delay."""
    from signatures.tallies import FIGURES_CACHE_SECONDS, FIGURES_KEPT_SECONDS

    a, b = (hosts[host].http_port for host in HOSTS)
    before = _figures_total(b)
    client = signing.Client(a)
    status = client.request("GET", load.held_back_link)[0]
    confirmed_at = time.monotonic()
    deadline = 2 * (FIGURES_CACHE_SECONDS + FIGURES_KEPT_SECONDS) + 10
    seen, stale = _seen_after(lambda: _figures_total(b) > before, confirmed_at, deadline)
    return Check(
        "figures cache across hosts",
        status == 200 and seen is not None,
        f"confirmed via host A (HTTP {status}); host B's figures.json counted it from"
        + (f" {seen:.2f} s" if seen is not None else f" never within {deadline:.0f} s")
        + (f", last old figure at {stale:.2f} s" if stale is not None else ", never an old one")
        + f" (documented: cached {FIGURES_CACHE_SECONDS} s in Redis and {FIGURES_KEPT_SECONDS:.0f} s"
        " more by each process, recounted on that timer)",
    )


def _check_counts(hosts: dict[str, signing.Stack], load: Load) -> Check:
    from django.db import connection

    from campaigns.models import Campaign
    from signatures.models import CountryTally, Signature

    campaign = Campaign.objects.get(slug=signing.CAMPAIGN_SLUG)
    expected = len(load.distinct_signers)
    # Wait for beat's fold (host A's worker), so the stored tallies are checked too.
    stored = -1
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        stored = sum(
            CountryTally.objects.filter(campaign=campaign).values_list("confirmed", flat=True)
        )
        if stored == expected:
            break
        time.sleep(1)
    time.sleep(3.5)  # the figures' few seconds in Redis, whatever was read last
    public = {host: _figures_total(hosts[host].http_port) for host in HOSTS}
    counted = Signature.objects.counted().filter(campaign=campaign)
    true_count = counted.count()
    distinct_confirmed = counted.values("email_hash").distinct().count()
    connection.close()
    figures = [public[HOSTS[0]], public[HOSTS[1]], stored, true_count, distinct_confirmed]
    return Check(
        "counts",
        all(figure == expected for figure in figures),
        f"figures.json host A {public[HOSTS[0]]}, host B {public[HOSTS[1]]}; stored tallies"
        f" {stored}; true COUNT {true_count}; distinct signers confirmed {distinct_confirmed};"
        f" expected {expected} distinct signers of {load.submissions} submissions",
    )


def _check_mail(relay: MailRelay, load: Load) -> Check:
    from django.db import connection

    from outbox.models import Message

    deadline = time.monotonic() + 180
    messages = Message.objects.filter(key__startswith="signature:")
    while messages.exclude(status=Message.Status.SENT).exists() and time.monotonic() < deadline:
        time.sleep(1)
    unsent = messages.exclude(status=Message.Status.SENT).count()
    time.sleep(1)  # the sink's last message, sent as its row was marked
    outbox = list(messages.only("key", "to"))
    connection.close()
    expected_ids = {message.message_id for message in outbox}
    expected_per_recipient = Counter(message.to for message in outbox)
    with relay.lock:
        delivered = Counter(relay.message_ids)
        per_recipient = Counter(relay.per_recipient)
    duplicated = sum(1 for n in delivered.values() if n > 1)
    missing = len(expected_ids - set(delivered))
    unexpected = len(set(delivered) - expected_ids)
    recipients_off = sum(
        1
        for address in set(expected_per_recipient) | set(per_recipient)
        if per_recipient[address] != expected_per_recipient[address]
    )
    once_not_one = sum(1 for address in load.submitted_once if per_recipient[address] != 1)
    no_mail = sum(1 for address in load.distinct_signers if not per_recipient[address])
    return Check(
        "exactly-once mail",
        not (duplicated or missing or unexpected or unsent or recipients_off)
        and not (once_not_one or no_mail),
        f"outbox {len(expected_ids)} messages ({unsent} unsent), {sum(delivered.values())}"
        f" delivered: {duplicated} Message-IDs twice, {missing} missing, {unexpected} unknown;"
        f" {len(per_recipient)} recipients, {recipients_off} with a count other than the"
        f" outbox's; {len(load.submitted_once)} signed once: {once_not_one} without exactly"
        f" one; signers with none {no_mail}",
    )


def _tasks_by_worker(hosts: dict[str, signing.Stack]) -> str:
    """Tasks each worker ran (Celery's remote control), to show both drained
    the one queue."""
    from config.celery import app

    names = {host: hosts[host].node_name.replace("%h", socket.gethostname()) for host in HOSTS}
    try:
        stats: dict[str, Any] = (
            app.control.inspect(destination=list(names.values()), timeout=5).stats() or {}
        )
    except Exception as failure:  # the figures are for people; the checks stand without
        return f"unknown ({type(failure).__name__})"

    def ran(host: str) -> str:
        totals = stats.get(names[host], {}).get("total", {})
        return ", ".join(f"{name.rsplit('.', 1)[-1]} {n}" for name, n in sorted(totals.items()))

    return "; ".join(f"{host}: {ran(host) or 'no answer'}" for host in HOSTS)


def _namespaces_usable() -> str:
    """Whether `unshare --net` works here: it says why the hosts are not
    network namespaces (bench/README.md has the reasoning)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "no: no unshare(1) here"
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    if probe.returncode:
        return "no: unshare --net is refused here"
    return (
        "no: unshare --net works here, but such a namespace has only its own loopback,"
        " with no route to PostgreSQL, Redis and the mail relay on 127.0.0.1;"
        " separate process groups with their own ports instead (bench/README.md)"
    )


# --- The benchmark --------------------------------------------------------------


def run(
    clients: int = 32,
    signatures: int = 1000,
    duplicate_share: float = 0.1,
    gunicorn_workers: int = 2,
    gunicorn_threads: int = 2,
    worker_concurrency: int = 2,
    rate_submissions: int = RATE_SUBMISSIONS,
    log: Callable[[str], None] = print,
) -> HostsResult:
    admin_url, database_url, database = run_database("hosts")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    listeners = {host: signing.listening_socket() for host in HOSTS}
    relay = MailRelay()
    static_root = tempfile.mkdtemp(prefix=f"{database}-static-")
    # One environment for both hosts: one SECRET_KEY (form tokens, CSRF and
    # sessions verify on either), one database, one Redis prefix and queue.
    # SITE_URL, the address in the mails, is host A's (a load balancer's).
    env = signing._bench_env(
        signing.with_application_name(database_url, "driver"),
        redis_url,
        int(listeners[HOSTS[0]].getsockname()[1]),
        relay.port,
        static_root,
    )
    log_dir = signing.BASE_DIR / "var" / "bench" / database
    log_dir.mkdir(parents=True, exist_ok=True)
    log(f"preparing database {database} (migrate, collectstatic); logs in {log_dir}...")
    database_create(admin_url, database)
    sampler = signing.ConnectionSampler(admin_url, database)
    hosts = {
        host: signing.Stack(
            env=env,
            http_listener=listeners[host],
            smtp=relay,
            log_dir=log_dir,
            gunicorn_workers=gunicorn_workers,
            gunicorn_threads=gunicorn_threads,
            worker_concurrency=worker_concurrency,
            worker_beat=host == HOSTS[0],
            host=host,
        )
        for host in HOSTS
    }
    result = HostsResult(database=database)
    try:
        signing._prepare_database(env)
        signing._setup_django(env)
        campaign_pk = signing._create_campaign()
        organiser_login = _organiser_create()
        from django.db import connections

        connections.close_all()  # the driver holds no connection during the load
        sampler.start()
        relay.start()
        for stack in hosts.values():
            stack.start_worker()
            stack.start_gunicorn()
        result.notes.append(f"network namespaces: {_namespaces_usable()}")
        result.notes.append(
            "hosts: "
            + "; ".join(
                f"{host} port {stack.http_port}, gunicorn {gunicorn_workers} x"
                f" {gunicorn_threads} (pgid {stack.gunicorn.pid if stack.gunicorn else '?'}),"
                f" worker {stack.node_name.replace('%h', socket.gethostname())}{' with beat' if stack.worker_beat else ''}"
                for host, stack in hosts.items()
            )
        )

        log("pausing through host A's admin, resuming through host B's...")
        result.checks.append(_check_pause(hosts, campaign_pk, organiser_login))
        log(f"rate limit: {rate_submissions} submissions from each of two addresses...")
        result.checks.append(_check_rate_limits(hosts, rate_submissions))
        load = _sign_across_hosts(hosts, relay, clients, signatures, duplicate_share, log)
        result.checks.append(
            Check(
                "requests",
                not load.errors and not load.dropped,
                f"failed {signing._kinds(load.errors)}, clients dropped"
                f" {signing._kinds(load.dropped)}",
            )
        )
        log("figures cache: one confirmation through host A, read on host B...")
        result.checks.append(_check_figures_cache(hosts, load))
        log("counting...")
        result.checks.append(_check_counts(hosts, load))
        log("waiting for the outbox to drain, counting mail at the relay...")
        result.checks.append(_check_mail(relay, load))
        sampler.stop()

        posted = sum(load.posts_by_host.values())
        result.notes += [
            f"signatures/s: {posted / load.seconds:.0f} for the run ({posted} in"
            f" {load.seconds:.1f} s, each a page on one host and a POST to the other); by the"
            " host that took the POST: "
            + ", ".join(f"{host} {load.posts_by_host[host] / load.seconds:.0f}" for host in HOSTS),
            f"mail: every signer's confirmation {load.mail_seconds:.1f} s after the last"
            f" submission; confirmations took {load.confirm_seconds:.1f} s",
            f"tasks run by each worker: {_tasks_by_worker(hosts)}",
            f"PostgreSQL connections: peak {sampler.peak} at once ("
            + ", ".join(f"{k} {v}" for k, v in sorted(sampler.peak_by_holder.items()))
            + "); most held by each: "
            + ", ".join(f"{k} {v}" for k, v in sorted(sampler.most_by_holder.items())),
        ]
        return result
    except Exception as failure:  # reported as a failed check, the services still stopped
        log(traceback.format_exc())
        result.checks.append(Check("run", False, f"{type(failure).__name__}: {failure}"))
        return result
    finally:
        sampler.stop()
        for stack in hosts.values():
            stack.stop_all()
        relay.stop()
        for listener in listeners.values():
            listener.close()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if database_drop(admin_url, database):
            log(f"database {database} dropped")
        else:
            log(f"database {database} is still in use: left in place")
        shutil.rmtree(static_root, ignore_errors=True)


def report(result: HostsResult) -> str:
    width = max((len(check.name) for check in result.checks), default=10)
    lines = [f"database  {result.database} (this run's own)", *result.notes, ""]
    lines.append(f"{'check':<{width}}  result  figures")
    for check in result.checks:
        lines.append(
            f"{check.name:<{width}}  {'PASS' if check.passed else 'FAIL':<6}  {check.figures}"
        )
    lines.append(f"{'all':<{width}}  {'PASS' if result.passed else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hosts", description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--signatures", type=int, default=1000)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--gunicorn-workers", type=int, default=2, help="per host")
    parser.add_argument("--gunicorn-threads", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2, help="per host")
    parser.add_argument("--rate-submissions", type=int, default=RATE_SUBMISSIONS)
    parser.add_argument("--json", action="store_true", help="print the checks as JSON too")
    options, _others = parser.parse_known_args(argv)  # options for other benchmarks pass by
    result = run(
        clients=options.clients,
        signatures=options.signatures,
        duplicate_share=options.duplicates,
        gunicorn_workers=options.gunicorn_workers,
        gunicorn_threads=options.gunicorn_threads,
        worker_concurrency=options.worker_concurrency,
        rate_submissions=options.rate_submissions,
    )
    print(report(result), flush=True)
    if options.json:
        print(json.dumps({"passed": result.passed, **{c.name: c.__dict__ for c in result.checks}}))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
