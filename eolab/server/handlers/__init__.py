"""REST resources, one module per domain; routes.py maps them to URLs and documents them."""
