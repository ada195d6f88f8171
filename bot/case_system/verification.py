"""Compatibility only: `normalise_phone` moved to `bot.phone_numbers` (the identity checks are in
`bot.case_system.domain.verification`). Remove once bot/channels/twilio_sms.py imports from there."""

from bot.phone_numbers import normalise_phone  # noqa: F401
