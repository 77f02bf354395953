"""Search: the index contract (``backend.py``) and its two backends (``embedded.py``,
``elastic.py``), the query language (``query.py``), entity lookup, the index stage
(``stage.py``), reindexing and the Kibana objects."""

from __future__ import annotations
