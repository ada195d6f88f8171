"""The reference case system: `contract` (the typed API), `http` (the aiohttp app), `domain`
(rules and use cases) and `store` (models, database, migrations). Imports point one way:
http -> domain -> store, and every layer may use the contract."""
