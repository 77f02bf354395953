"""Facts that do not depend on the language: the figures a text gives and the days it says
things happened, read from English, Russian, Ukrainian, Korean, Japanese and Chinese. Pure.

Figures are normalised to one spelling so "1,000 shells", "1 000 снарядов", "1 тыс.
снарядов", "포탄 1천 발", "砲弾1000発" and "炮弹1千枚" all give ``1000``; "12 million",
"12 млн" and "1200万" give ``12000000``. Years (1900-2100), clock times, dates and lone 0
and 1 are left out: they say little about which event a report is about.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

MAX_DATE_DAYS = 400  # a date further back is history, not the event
# the multiplier words after a number, per script; a number's own separators differ too:
# English and CJK write 1,000 (comma: thousands), Russian and Ukrainian 1 000 and 1,5 (comma:
# decimal)
_SCALE = {
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9, "mln": 1e6,
    "тыс": 1e3, "тысяч": 1e3, "тысячи": 1e3, "тысяча": 1e3, "тысячу": 1e3,
    "тис": 1e3, "тисяч": 1e3, "тисячі": 1e3, "тисяча": 1e3, "тисячу": 1e3,
    "млн": 1e6, "миллион": 1e6, "миллиона": 1e6, "миллионов": 1e6,
    "мільйон": 1e6, "мільйона": 1e6, "мільйонів": 1e6, "мільйони": 1e6,
    "млрд": 1e9, "миллиард": 1e9, "миллиарда": 1e9, "миллиардов": 1e9,
    "мільярд": 1e9, "мільярда": 1e9, "мільярдів": 1e9, "мільярди": 1e9,
    "百": 1e2, "千": 1e3, "万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8,
    "백": 1e2, "천": 1e3, "만": 1e4, "억": 1e8,
}
_SLAVIC = ("ru", "uk")
_NUMBER_PATTERN = (
    r"(?<![0-9A-Za-z\u0400-\u04ff.,:])(\d{1,3}(?:(?P<sep>SEP)\d{3})+|\d+(?:[.,]\d+)?)"
    r"(?:\s?(?P<scale>(?:thousand|million|billion|bn|mln|тысяч[аиу]?|тыс|тисяч[аіу]?|тис"
    r"|миллион(?:а|ов)?|мільйон(?:а|ів|и)?|млн|миллиард(?:а|ов)?|мільярд(?:а|ів|и)?|млрд"
    r")(?![^\W\d_])|[百千万萬亿億백천만억]))?"
    r"(?P<after>\s?(?:[年月日号時时分년월일시분]|%|:\d|г\.|гг\.|року|года|году))?"
)
_NUMBER = re.compile(_NUMBER_PATTERN.replace("SEP", ","), re.IGNORECASE)
_SLAVIC_NUMBER = re.compile(_NUMBER_PATTERN.replace("SEP", "[  ]"), re.IGNORECASE)
_EN_MONTH_DAY = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.IGNORECASE)

# --- days: weekday names, yesterday / today, "5 марта", "3월 5일", "3月5日" -------------------
_WEEKDAYS = {
    "ru": (r"понедельник", r"вторник", r"сред[ауеы]", r"четверг", r"пятниц[ауеы]", r"суббот[ауеы]",
           r"воскресень[еяю]"),
    "uk": (r"понеділ(?:ок|ка)", r"вівтор(?:ок|ка)", r"серед[аиуі]", r"четвер(?:га)?", r"п['’]ятниц[яюі]",
           r"субот[аиуі]", r"неділ[яюі]"),
    "ko": ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"),
    "ja": ("月曜", "火曜", "水曜", "木曜", "金曜", "土曜", "日曜"),
    "zh": ("(?:星期|周|礼拜)一", "(?:星期|周|礼拜)二", "(?:星期|周|礼拜)三", "(?:星期|周|礼拜)四",
           "(?:星期|周|礼拜)五", "(?:星期|周|礼拜)六", "(?:星期|周|礼拜)[日天]"),
}
_RELATIVE = {
    "ru": {"позавчера": -2, "вчера": -1, "накануне": -1, "сегодня": 0},
    "uk": {"позавчора": -2, "вчора": -1, "учора": -1, "напередодні": -1, "сьогодні": 0},
    "ko": {"그저께": -2, "어제": -1, "전날": -1, "오늘": 0},
    "ja": {"一昨日": -2, "昨日": -1, "前日": -1, "今日": 0, "本日": 0},
    "zh": {"前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0},
}
_GENITIVE_MONTHS = {
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
           "октября", "ноября", "декабря"),
    "uk": ("січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня",
           "жовтня", "листопада", "грудня"),
}
_CJK_DATE = re.compile(r"(?:(\d{4})\s?[年년]\s?)?(\d{1,2})\s?[月월]\s?(\d{1,2})\s?[日일号]")


_COMPOSITE = re.compile(r"(\d+)\s?([万萬亿億만억])\s?(\d+)(?:\s?([千천]))?")


def _composite(m: re.Match[str]) -> str:
    """2万4000 or 2만4천 (24,000) as one number."""
    tail = int(m.group(3)) * (1000 if m.group(4) else 1)
    return f" {int(m.group(1)) * int(_SCALE[m.group(2)]) + tail} "


def amounts(text: str, lang: str) -> frozenset[str]:
    """The figures of ``text`` in one spelling (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text)
    if lang in ("ko", "ja", "zh"):
        text = _COMPOSITE.sub(_composite, text)
    if lang == "en":
        text = _EN_MONTH_DAY.sub(" ", text)
    elif lang in _SLAVIC:
        text = re.sub(rf"\b\d{{1,2}}\s+(?:{'|'.join(_GENITIVE_MONTHS[lang])})", " ", text, flags=re.I)
    found: set[str] = set()
    for m in (_SLAVIC_NUMBER if lang in _SLAVIC else _NUMBER).finditer(text):
        if m.group("after"):
            continue  # a year, a date, a time or a percentage
        raw, sep, scale = m.group(1), m.group("sep"), m.group("scale")
        if sep:  # 1,000 or 1 000
            digits = re.sub(r"[,  ]", "", raw)
        elif "," in raw:  # 1,5 (a decimal comma in Slavic text) or a stray comma
            digits = raw.replace(",", ".") if lang in _SLAVIC else raw.replace(",", "")
        else:
            digits = raw
        value = float(digits)
        if scale:
            value *= _SCALE[scale.lower()]
        elif 1900 <= value <= 2100 and float(value).is_integer():
            continue  # a year
        if value <= 1:
            continue
        found.add(_spelled(value))
    return frozenset(found)


def _spelled(value: float) -> str:
    return str(round(value)) if abs(value - round(value)) < 1e-6 else f"{value:.2f}".rstrip("0")


def shown(figure: str) -> str:
    """A figure as people read it: 1000 -> "1,000"."""
    try:
        number = float(figure)
    except ValueError:
        return figure
    return f"{int(number):,}" if number.is_integer() else figure


def mentioned_dates(text: str, lang: str, published: datetime) -> frozenset[int]:
    """The days a Russian, Ukrainian, Korean, Japanese or Chinese text says things happened,
    resolved against the publication date as ``stories.evidence.mentioned_dates`` does for
    English: weekday names (the last such day up to publication), yesterday and today, and
    day-month dates ("5 марта", "3월 5일", "3月5日")."""
    day = published.date().toordinal()
    found: set[int] = set()
    low = text.lower()
    for n, pattern in enumerate(_WEEKDAYS.get(lang, ())):
        if re.search(rf"(?<![^\W\d_]){pattern}" if lang in _SLAVIC else pattern, low):
            found.add(day - (published.weekday() - n) % 7)
    for word, shift in _RELATIVE.get(lang, {}).items():
        if re.search(rf"(?<![^\W\d_]){word}(?![^\W\d_])" if lang in _SLAVIC else word, low):
            found.add(day + shift)
    pairs: list[tuple[int | None, int, int]] = []
    if lang in _SLAVIC:
        months = _GENITIVE_MONTHS[lang]
        for m in re.finditer(rf"\b(\d{{1,2}})\s+({'|'.join(months)})(?:\s+((?:19|20)\d\d))?", low):
            pairs.append((int(m.group(3)) if m.group(3) else None, months.index(m.group(2)) + 1,
                          int(m.group(1))))
    else:
        for m in _CJK_DATE.finditer(unicodedata.normalize("NFKC", text)):
            pairs.append((int(m.group(1)) if m.group(1) else None, int(m.group(2)), int(m.group(3))))
    for year, month, number in pairs:
        when = day_of(year, month, number, published)
        if when is not None:
            found.add(when)
    return frozenset(d for d in found if day - MAX_DATE_DAYS <= d <= day + 1)


def day_of(year: int | None, month: int, number: int, published: datetime) -> int | None:
    """The day (ordinal) a "month day" mention means, read against the publication date: the
    stated year, else this year's, else last year's, never after the day after publication;
    None for an impossible date."""
    day = published.date().toordinal()
    for y in [year] if year else [published.year, published.year - 1]:
        try:
            when = datetime(y, month, number).date().toordinal()
        except ValueError:
            return None
        if when <= day + 1:
            return when
    return None
