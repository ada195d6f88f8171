"""A local stand-in for Twilio's REST API (Messages) on 127.0.0.1, for tests and local trials.

The real `twilio.rest.Client` is pointed at it (`TWILIO_API_BASE_URL`, see bot/outbound_sms.py),
so the library's own request code runs. It records every message, can be told to fail the next
requests like Twilio does (a JSON error with a code), and checks HTTP basic auth.

Also a small command line for trying the channels without Twilio:
    python -m tests.fakes.twilio_api serve --port 8099          # prints each SMS "sent"
    python -m tests.fakes.twilio_api sms --from +4791234567 "hva skylder jeg?"
    python -m tests.fakes.twilio_api call --digits 100001       # one voice turn, prints TwiML
The last two sign their requests with TWILIO_AUTH_TOKEN for PUBLIC_BASE_URL, like Twilio does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets
from dataclasses import dataclass, field
from typing import Optional

from aiohttp import web

MESSAGES_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"


@dataclass
class SentMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: Optional[str]


@dataclass
class FakeTwilioApi:
    account_sid: str
    auth_token: str
    messages: list[SentMessage] = field(default_factory=list)
    fail_next: list[tuple[int, int]] = field(default_factory=list)  # (HTTP status, Twilio error code)
    requests: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(MESSAGES_PATH, self.create_message)
        return app

    async def create_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.match_info["account_sid"] != self.account_sid or request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if self.fail_next:
            status, code = self.fail_next.pop(0)
            return web.json_response({"code": code, "message": "Simulated failure", "status": status}, status=status)
        form = await request.post()
        message = SentMessage(
            sid="SM" + secrets.token_hex(16),
            to=form.get("To", ""),
            from_=form.get("From", ""),
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback"),
        )
        self.messages.append(message)
        self.arrived.set()
        return web.json_response(
            {
                "sid": message.sid,
                "account_sid": self.account_sid,
                "to": message.to,
                "from": message.from_,
                "body": message.body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": MESSAGES_PATH.format(account_sid=self.account_sid).replace(".json", f"/{message.sid}.json"),
            },
            status=201,
        )

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[SentMessage]:
        """Until at least `count` messages have arrived (event-driven, no sleeping)."""

        async def arrived() -> None:
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(arrived(), timeout)
        return list(self.messages)


def signed_post_args(url: str, params: dict[str, str], auth_token: str) -> dict:
    """Headers and form data exactly as Twilio posts them, signed with twilio's own validator."""
    from twilio.request_validator import RequestValidator

    return {
        "data": params,
        "headers": {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, params)},
    }


def _main() -> None:  # pragma: no cover - a developer's tool
    import aiohttp

    from bot.config import load_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--port", type=int, default=8099)
    sms = commands.add_parser("sms")
    sms.add_argument("--from", dest="sender", default="+4791234567")
    sms.add_argument("text")
    call = commands.add_parser("call")
    call.add_argument("--call-sid", default="CA" + "0" * 32)
    call.add_argument("--digits")
    call.add_argument("--speech")
    arguments = parser.parse_args()
    settings = load_settings()

    if arguments.command == "serve":
        fake = FakeTwilioApi(settings.twilio_account_sid, settings.twilio_auth_token)

        async def show(request: web.Request) -> web.Response:
            answer = await fake.create_message(request)
            if fake.messages and answer.status == 201:
                print(f"--- SMS to {fake.messages[-1].to}:\n{fake.messages[-1].body}\n", flush=True)
            return answer

        app = web.Application()
        app.router.add_post(MESSAGES_PATH, show)
        web.run_app(app, host="127.0.0.1", port=arguments.port)
        return

    async def post() -> None:
        if arguments.command == "sms":
            path = "/webhooks/twilio_sms/webhook"
            params = {
                "MessageSid": "SM" + secrets.token_hex(16),
                "AccountSid": settings.twilio_account_sid,
                "From": arguments.sender,
                "To": settings.twilio_from_number,
                "Body": arguments.text,
                "NumMedia": "0",
            }
        else:
            path = (
                "/webhooks/twilio_voice/gather"
                if (arguments.digits or arguments.speech)
                else "/webhooks/twilio_voice/webhook"
            )
            params = {
                "CallSid": arguments.call_sid,
                "AccountSid": settings.twilio_account_sid,
                "From": "+4791234567",
                "To": settings.twilio_from_number,
                "CallStatus": "in-progress",
            }
            if arguments.digits:
                params["Digits"] = arguments.digits
            if arguments.speech:
                params["SpeechResult"] = arguments.speech
        url = settings.public_base_url + path
        local = f"http://{settings.host}:{settings.rasa_port}{path}"
        async with aiohttp.ClientSession() as http:
            async with http.post(local, **signed_post_args(url, params, settings.twilio_auth_token)) as answer:
                print(answer.status, await answer.text())

    asyncio.run(post())


if __name__ == "__main__":
    _main()
