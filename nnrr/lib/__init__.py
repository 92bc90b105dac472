"""Plain helpers shared by the apps: dates in Europe/Oslo, national ids, request helpers."""
