"""Debtors' conversations for locust (run in .venv-tools by bot/loadtest/run.py; no import of `bot`).

Three kinds of user, each one conversation through the load balancer: the REST channel, the web
chat (Socket.IO, WebSocket first as the page does, long-polling when the transport is forced)
and Twilio-signed SMS. REST and SMS use locust's FastHttpUser: the load generator shares the
machine's cores with what it measures, and the cheaper client leaves more of them to the cluster.

Each sends numbered texts ("hei 7": no identity number, which the tracker store would redact)
one after the other, and appends every acknowledged one to the file LOADTEST_ACKS as a JSON
line, so that bot/loadtest/verify.py can find it in the tracker.

Acknowledged means the message is kept: a REST or web chat turn answered without the
"technical problem" apology; an SMS the webhook took (empty TwiML, or "kept for later"). An
apology is a polite answer, not an acknowledgement (the debtor is asked to try again): it is
recorded as `apologised`, and such a message may or may not be in the tracker. An HTTP error or a
lost connection is retried by the client, as the page and Twilio do.

Environment: LOADTEST_ACKS (file), LOADTEST_TWILIO_TOKEN, LOADTEST_APOLOGIES and
LOADTEST_SMS_TRY_AGAIN (JSON lists of the apologies' fixed beginnings), LOADTEST_WEB_TRANSPORTS
(default "websocket,polling").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import queue
import random
import secrets
import time
from urllib.parse import urlencode

import socketio
from locust import FastHttpUser, User, between, events, task

ACKS_PATH = os.environ.get("LOADTEST_ACKS", "loadtest-acks.jsonl")
TWILIO_TOKEN = os.environ.get("LOADTEST_TWILIO_TOKEN", "")
APOLOGIES = tuple(json.loads(os.environ.get("LOADTEST_APOLOGIES", "[]")))
SMS_TRY_AGAIN = tuple(json.loads(os.environ.get("LOADTEST_SMS_TRY_AGAIN", "[]")))
WEB_TRANSPORTS = os.environ.get("LOADTEST_WEB_TRANSPORTS", "websocket,polling").split(",")
RETRIES = 8
RETRY_PAUSE_SECONDS = 1.0
TURN_TIMEOUT_SECONDS = 20.0
TRACE_MARKERS = ("Traceback", 'File "/')

_acks = open(ACKS_PATH, "a", buffering=1)


def record(channel: str, conversation: str, text: str, outcome: str) -> None:
    _acks.write(json.dumps({"channel": channel, "conversation": conversation, "text": text, "outcome": outcome}) + "\n")


def is_apology(texts: list[str], beginnings: tuple[str, ...]) -> bool:
    return any(text.startswith(beginnings) for text in texts) if beginnings else False


def shows_trace(body: str) -> bool:
    return any(marker in body for marker in TRACE_MARKERS)


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL and the sorted parameters, base64.
    (The `twilio` package is in the main venv, not this one; the servers check with its
    RequestValidator, so a mistake here fails every SMS.)"""
    payload = url + "".join(key + params[key] for key in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class RestDebtor(FastHttpUser):
    weight = 2
    wait_time = between(0.2, 0.6)

    def on_start(self) -> None:
        self.sender = "lt-" + secrets.token_hex(8)
        self.number = 0

    @task
    def say(self) -> None:
        self.number += 1
        text = f"hei {self.number}"
        for _ in range(RETRIES):
            with self.client.post(
                "/webhooks/rest/webhook",
                json={"sender": self.sender, "message": text},
                name="rest turn",
                catch_response=True,
            ) as reply:
                if shows_trace(reply.text or ""):
                    reply.failure("stack trace in the answer")
                    return
                if reply.status_code != 200:
                    reply.failure(f"HTTP {reply.status_code}; retried")
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                texts = [message.get("text") or "" for message in reply.json()]
                apologised = is_apology(texts, APOLOGIES)
                record("rest", "rest-" + self.sender, text, "apologised" if apologised else "acknowledged")
                return
        record("rest", "rest-" + self.sender, text, "gave_up")


class WebChatDebtor(User):
    """The web page's protocol: session_request on every (re)connect, user_uttered, and the turn
    ends when `bot_typing` turns false."""

    weight = 2
    wait_time = between(0.2, 0.6)

    def on_start(self) -> None:
        self.session_id = "web-" + secrets.token_hex(16)
        self.number = 0
        self.events: queue.Queue = queue.Queue()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2)
        self.sio.on("connect", self._joined)
        self.sio.on("bot_uttered", lambda data: self.events.put(("bot", (data or {}).get("text") or "")))
        self.sio.on("bot_typing", lambda data: self.events.put(("typing", (data or {}).get("typing"))))
        self.sio.on("session_history", lambda data: self.events.put(("history", data or [])))
        self._connect()

    def _joined(self) -> None:
        self.sio.emit("session_request", {"session_id": self.session_id, "language": "nb"})

    def _connect(self) -> None:
        for _ in range(RETRIES):
            try:
                self.sio.connect(self.host, socketio_path="/socket.io", transports=WEB_TRANSPORTS, wait_timeout=10)
                return
            except socketio.exceptions.ConnectionError:
                time.sleep(RETRY_PAUSE_SECONDS)

    def _reconnect(self) -> None:
        """As the page does when its socket stays closed."""
        try:
            self.sio.disconnect()
        except Exception:  # whatever state the old connection is in
            pass
        self._connect()

    def on_stop(self) -> None:
        self.sio.disconnect()

    @task
    def say(self) -> None:
        self.number += 1
        text = f"hei {self.number}"
        for _ in range(RETRIES):
            if not self.sio.connected:
                time.sleep(RETRY_PAUSE_SECONDS)  # the client is reconnecting
                if not self.sio.connected:
                    self._reconnect()
                continue
            while not self.events.empty():
                self.events.get_nowait()  # the session's notice or history
            started = time.perf_counter()
            self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})
            texts = self._turn()
            elapsed_ms = (time.perf_counter() - started) * 1000
            if texts is None:
                events.request.fire(
                    request_type="socketio",
                    name="web chat turn",
                    response_time=elapsed_ms,
                    response_length=0,
                    exception=TimeoutError("no answer; reconnected"),
                )
                if self._in_history(text):  # answered, but the answer did not reach this socket
                    record("socketio", self.session_id, text, "acknowledged")
                    return
                continue
            events.request.fire(
                request_type="socketio",
                name="web chat turn",
                response_time=elapsed_ms,
                response_length=sum(len(t) for t in texts),
                exception=AssertionError("stack trace") if any(shows_trace(t) for t in texts) else None,
            )
            outcome = "apologised" if is_apology(texts, APOLOGIES) else "acknowledged"
            record("socketio", self.session_id, text, outcome)
            return
        record("socketio", self.session_id, text, "gave_up")

    def _in_history(self, text: str) -> bool:
        """Reconnects as the page does after a silence, and looks for `text` in the history the
        server sends back."""
        self._reconnect()
        deadline = time.monotonic() + TURN_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                kind, value = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if kind == "history":
                return any(item.get("sender") == "user" and item.get("text") == text for item in value)
        return False

    def _turn(self) -> list[str] | None:
        texts: list[str] = []
        deadline = time.monotonic() + TURN_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                kind, value = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if kind == "bot":
                texts.append(value)
            elif kind == "typing" and value is False and texts:
                return texts
        return None


class SmsDebtor(FastHttpUser):
    """Twilio's webhook: a signed form POST per message, retried on an HTTP error (as Twilio
    does). Texts come as a person types them, a second or more apart."""

    weight = 1
    wait_time = between(1.0, 2.0)

    def on_start(self) -> None:
        # A synthetic Norwegian mobile number (4 and 8 digits), unique per user.
        self.phone = f"+474{random.randrange(10**7):07d}"
        self.number = 0

    @task
    def say(self) -> None:
        self.number += 1
        text = f"hei {self.number}"
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": self.phone,
            "To": "+4700000000",
            "Body": text,
            "NumMedia": "0",
        }
        path = "/webhooks/twilio_sms/webhook"
        headers = {
            "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, self.host + path, params),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for _ in range(RETRIES):
            with self.client.post(
                path, data=urlencode(params), headers=headers, name="sms webhook", catch_response=True
            ) as reply:
                # TwiML is UTF-8; `text/xml` without a charset would be read as Latin-1 by requests.
                body = (reply.content or b"").decode("utf-8", errors="replace")
                if shows_trace(body):
                    reply.failure("stack trace in the answer")
                    return
                if reply.status_code != 200:
                    reply.failure(f"HTTP {reply.status_code}; retried")
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                outcome = "apologised" if is_apology([_message_text(body)], SMS_TRY_AGAIN) else "acknowledged"
                record("sms", self.phone, text, outcome)
                return
        record("sms", self.phone, text, "gave_up")


def _message_text(twiml: str) -> str:
    start = twiml.find("<Message>")
    return twiml[start + len("<Message>") : twiml.find("</Message>")] if start >= 0 else ""
