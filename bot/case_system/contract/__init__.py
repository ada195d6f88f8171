"""The case system's API contract, in one place: enums, value types, request and response models
(pydantic 1.10) and the error body.

Pure: it imports neither SQLAlchemy nor aiohttp, so the action server's client and the channels
parse the same models the API validates and serialises with, and the OpenAPI document is
generated from them.
"""
