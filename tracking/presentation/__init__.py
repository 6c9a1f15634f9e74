"""How a shipment reads to people, on web pages and in e-mails. Pure functions over model
instances: no queries of their own (callers pass the events they already loaded)."""
