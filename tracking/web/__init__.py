"""What browsers talk to: the staff portal (staff/), the public pages (public/) and their helpers."""
