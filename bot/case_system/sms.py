"""Compatibility only: the SMS channel's consent keywords moved to `bot.sms_consent`. Remove once
bot/channels/twilio_sms.py and bot/channels/sms_inbox.py import from there."""

from bot.sms_consent import ConsentChange, consent_change  # noqa: F401
