"""tap-hubspot-courses: a Singer tap for HubSpot's courses object (0-410)."""
