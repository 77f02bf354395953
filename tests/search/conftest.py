"""The search tests' Elasticsearch fixtures (``es_url``, ``es_settings``) live in
``tests/conftest.py``, so that every folder shares ONE server per session."""
