"""The case system's HTTP layer: the aiohttp app (`app.create_app`), its middlewares, the request
context handlers share (`context.Call`), and one routes module per resource (`routes/`)."""
