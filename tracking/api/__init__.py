"""The JSON REST API for shops and other systems, under /api/v1/ (django-ninja).

urls.py builds the NinjaAPI (schema at /api/v1/openapi.json, docs at /api/v1/docs); auth.py
reads `Authorization: Bearer <key>` and applies the key's scope and rate limit; errors.py gives
every failure one JSON shape; shipments.py and webhook_endpoints.py are the routes; schemas.py
the request and response shapes. Views stay thin: reads in queries/, writes in services/, and
fetches queued through tasks.py.
"""
