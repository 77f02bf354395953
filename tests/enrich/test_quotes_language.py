from __future__ import annotations

import pytest

from enrich.language import detect_language
from enrich.quotes import find_quotes

TEXT = (
    '"We are watching every ship that leaves that port," Kirby said on Tuesday. '
    '"This is a fabrication by forces hostile to our country," said Vassily Nebenzia. '
    'Dana Whitfield told reporters on Air Force One: "The pipeline has to close." '
    '“Every shell that arrives this way is one Russia does not have to make,” according to '
    "Elena Varga, a researcher. \"Nothing to add,\" he said. Officials said little."
)


def test_quotes_and_speakers() -> None:
    quotes = find_quotes(TEXT, link={"Kirby": "Q6251330"}.get)
    assert [(q.speaker, q.speaker_id) for q in quotes] == [
        ("Kirby", "Q6251330"), ("Vassily Nebenzia", None), ("Dana Whitfield", None),
        ("Elena Varga", None),
    ]
    assert quotes[0].text == "We are watching every ship that leaves that port"
    assert quotes[2].text == "The pipeline has to close."
    assert all(TEXT[q.position:].startswith(q.text[:10]) for q in quotes)


def test_no_quotes_without_a_clear_speaker() -> None:
    assert find_quotes('The sign read "closed for the winter season" all week.') == []
    assert find_quotes('"Nothing to add at this stage," he said.') == []


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Storm warning", "Forecasters expect damaging winds and heavy rain on Friday night "
         "across the coastal counties, with gusts strong enough to bring down trees.", "en"),
        ("Avis de tempête", "Les prévisionnistes annoncent des vents violents et de fortes "
         "pluies vendredi soir sur les départements côtiers.", "fr"),
        ("Sturmwarnung", "Meteorologen erwarten am Freitagabend schwere Sturmböen und "
         "starken Regen in den Küstenregionen des Landes.", "de"),
    ],
)
def test_language(title: str, text: str, expected: str) -> None:
    lang, confidence = detect_language(title, text)
    assert lang == expected and confidence > 0.8


def test_too_little_text_falls_back_to_the_declared_language() -> None:
    assert detect_language("Hi", "ok", declared="es") == ("es", 0.0)
