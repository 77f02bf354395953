"""Languages besides English: tokens with lemmas, entity mentions linked through the
gazetteer, topic terms and search terms, for Russian, Ukrainian, Korean, Japanese and
Chinese. Each language's tools are loaded once per process and only when an article in that
language occurs (docs/enrichment.md says which tool serves which language and why)."""

ENGLISH = "en"
SUPPORTED = ("en", "ru", "uk", "ko", "ja", "zh")
NAMES = {"en": "English", "ru": "Russian", "uk": "Ukrainian", "ko": "Korean",
         "ja": "Japanese", "zh": "Chinese"}
