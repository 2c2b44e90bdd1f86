"""Technical kit with no business rules: settings, database, bus, HTTP and observability.

It imports only `finplat.kernel`.
"""
