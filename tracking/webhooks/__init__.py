"""Endpoints other systems call: ShipEngine's track deliveries."""
