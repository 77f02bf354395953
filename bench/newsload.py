"""A synthetic news load for benchmarks: feeds, pages and developing stories.

``plan(feeds, hosts, per_feed, waves, seed)`` lays out every article of the load — its
outlet (host), feed, wave and text — deterministically per seed; ``Site`` turns it into
URLs and pages once the hosts listen; ``render_page`` and ``render_feed`` make the bytes.

Pages are real article pages: head metadata and JSON-LD, a cookie banner, navigation, a
header with byline and time, 600–1,200 words of body paragraphs (with an inline ad and a
"Read more" promo), tags, share links, related links, reader comments, a most-read list,
a newsletter box and the footer. Feeds are RSS 2.0.

The text is generated from our own sentence templates and word lists, never copied: invented
people, organisations and places, real country names, and the nouns and verbs of a few
beats (arms shipments, sanctions, drones, markets, sport, weather, city hall, science), so
spaCy's NER, the quote finder and the topic tagger have real work. Sentences are composed
(an opener, a clause, a tail) with slots, each article has its own phrasing (a few of the
openers, clauses, tails and quotes), its own slot words and its own subject (a place and a
facility) and keywords, so that unrelated articles share grammar but not much vocabulary.
About 40% of the articles belong to developing stories: outlets on different hosts cover
one event over successive waves with the same names, figures, subject and keywords;
follow-ups add a new speaker, organisation and figures; some events get a syndicated
near-copy (one sentence dropped). Measured against 200 real articles (clustering-dev), the
generated text still shares more vocabulary between unrelated stories (TF-IDF cosine
median 0.09 against 0.01), so the story stage merges part of the one-off stories; the
benchmark prints how the stories came out.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

# -- our own word lists -------------------------------------------------------------------

FIRST = (
    "Adela", "Bram", "Celine", "Darius", "Elsa", "Faris", "Greta", "Hugo", "Ines", "Jonah",
    "Katya", "Leon", "Mira", "Niall", "Odette", "Pavel", "Rhea", "Silas", "Tamsin", "Viktor",
    "Willa", "Yusuf", "Zora", "Anselm", "Beatrix", "Cyrus", "Delphine", "Emil", "Flora",
    "Gideon", "Helena", "Ivo", "Juno", "Kasimir", "Lorna", "Matteo", "Nadia", "Oskar",
)
SURNAMES = (
    "Ashcombe", "Barrowfield", "Castellane", "Dravick", "Ellingham", "Fenwright", "Galloran",
    "Hartvig", "Iverholt", "Jardine", "Kovalen", "Lindqvist", "Marlowe", "Norcross",
    "Okafor", "Pellerin", "Quarrie", "Redvers", "Strand", "Thornbury", "Ulvaeus", "Varga",
    "Whitlock", "Yardley", "Zubrin", "Abernathy", "Brightman", "Corrigan", "Delacroix",
    "Eskola", "Farrant", "Gunnarsen", "Holloway", "Ibarra", "Jessop", "Kettering",
    "Larkspur", "Mendel", "Nyberg", "Ostrander", "Petrakis", "Rainsford", "Sorensen",
    "Tallis", "Voskuijlen", "Wexford",
)
PLACES = (
    "Port Calloway", "Westmere", "Aldergrove", "Brackenridge", "Kestrel Bay", "Dunholm",
    "Marrowgate", "Stonebridge", "Elmsworth", "Ravensholt", "Harlow Cross", "Fennick",
    "Greywater", "Lowick", "Saltmarsh", "Thistleford", "Umberton", "Valemont", "Wickham Vale",
    "Orrin Falls", "Caskport", "Bellhaven", "Corran", "Druid Hill",
)
# real country names (the gazetteer links them to Wikidata ids)
COUNTRIES = (
    "Norway", "Brazil", "Kenya", "Japan", "Canada", "Egypt", "Chile", "Poland", "Vietnam",
    "Turkey", "Indonesia", "Peru", "Morocco", "Finland", "Ghana", "Argentina", "Portugal",
    "Malaysia", "Ireland", "Mexico", "India", "Germany", "France", "Spain", "Sweden",
    "Nigeria", "South Africa", "Australia",
)
ORG_STEMS = (
    "Calder", "Meridian", "Northgate", "Vantor", "Brightwater", "Ironvale", "Silverline",
    "Harbourside", "Oakmont", "Redfern", "Bluestone", "Crestway", "Halden", "Marwick",
    "Pinecrest", "Sterling", "Tidewell", "Westbrook",
)
ROLES = ("spokesperson", "director", "chief executive", "senior analyst", "minister",
         "deputy mayor", "head of research", "chair", "commander", "economist")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
PERIODS = ("week", "month", "two weeks", "three months", "year", "fortnight")
ADJECTIVES = ("unusual", "worrying", "encouraging", "chaotic", "orderly", "tense", "calm",
              "surprising", "predictable", "difficult")


@dataclass(frozen=True)
class Beat:
    """A news beat: the nouns, verbs, organisation kinds and sentences of its stories."""

    name: str
    things: tuple[tuple[str, str], ...]  # (singular, plural)
    verbs: tuple[tuple[str, str], ...]  # (past, participle)
    org_kinds: tuple[str, ...]
    areas: tuple[str, ...]
    countries: tuple[str, ...]
    sentences: tuple[str, ...]
    titles: tuple[str, ...]


BEATS: tuple[Beat, ...] = (
    Beat(
        "arms",
        (("shipment", "shipments"), ("artillery shell", "artillery shells"),
         ("munitions convoy", "munitions convoys"), ("ammunition crate", "ammunition crates"),
         ("missile", "missiles"), ("cargo container", "cargo containers")),
        (("delivered", "delivered"), ("shipped", "shipped"), ("intercepted", "intercepted"),
         ("unloaded", "unloaded"), ("seized", "seized"), ("inspected", "inspected")),
        ("Shipping Company", "Defence Institute", "Port Authority", "Logistics"),
        ("port", "border crossing", "rail yard", "naval base"),
        ("Russia", "North Korea", "Ukraine", "Iran", "Belarus"),
        (
            "Satellite images reviewed by {ORG} show {N} {A} {THINGS} being {ACTPP} at the "
            "{AREA} near {PLACE}, which analysts say points to a steady supply of weapons "
            "from {C} to {C2}.",
            "{S} {ADV} said the deliveries of artillery shells and rockets to {C2} had doubled "
            "since {MONTH}, and that the munitions were sent by rail after reaching the "
            "{AREA}.",
            "Officials in {C} denied that any arms transfer had taken place, calling the "
            "{A} reports about weapons deliveries a fabrication.",
            "\"Every one of those {THINGS} ends up on the front line within days,\" "
            "{S} said.",
            "The ships, tracked by {ORG}, sailed from {PLACE} with their transponders "
            "switched off, a {A} pattern seen before shipments of ammunition.",
        ),
        ("{N} {THINGS} {ACT} at {FOCUS}, {ORG} says",
         "Arms shipments through {FOCUS} draw {KW} scrutiny",
         "{S} warns of weapons deliveries via {FOCUS}"),
    ),
    Beat(
        "sanctions",
        (("sanction", "sanctions"), ("asset freeze", "asset freezes"),
         ("export licence", "export licences"), ("oil tanker", "oil tankers"),
         ("bank account", "bank accounts"), ("trade ban", "trade bans")),
        (("imposed", "imposed"), ("lifted", "lifted"), ("extended", "extended"),
         ("blocked", "blocked"), ("froze", "frozen")),
        ("Treasury", "Trade Council", "Compliance Group", "Bank"),
        ("shipping lane", "customs office", "free port", "refinery"),
        ("Russia", "Iran", "North Korea", "Venezuela", "Syria"),
        (
            "The new sanctions target {N} companies and {N2} oil tankers accused of "
            "helping {C} evade a {A} embargo, {ORG} said on {DAY}.",
            "Under the measures, any assets held by the firms in {C2} will be frozen and "
            "their export licences revoked.",
            "\"Sanctions only work when they are enforced,\" {S} told reporters in "
            "{PLACE}.",
            "Lawyers for {ORG} {ADV} said the asset freeze was unlawful and that they would "
            "appeal against the designation.",
        ),
        ("Sanctions {ACT} on {FOCUS} and {N} {KW} firms",
         "New sanctions hit {KW} tankers from {FOCUS}",
         "{S} defends {FOCUS} sanctions as {ORG} appeals"),
    ),
    Beat(
        "drones",
        (("drone", "drones"), ("interceptor", "interceptors"),
         ("air defence battery", "air defence batteries"), ("strike", "strikes")),
        (("launched", "launched"), ("shot down", "shot down"), ("downed", "downed"),
         ("intercepted", "intercepted")),
        ("Air Defence Command", "Drone Works", "Aerospace"),
        ("airfield", "power station", "fuel depot", "radar site"),
        ("Russia", "Ukraine", "Iran", "Israel", "Turkey"),
        (
            "Air defences {ACT} {N} of the {N2} drones launched overnight against "
            "{PLACE}, the military said.",
            "Debris from a downed drone started a {A} fire at a fuel depot near the {AREA}.",
            "{S} said the {A} attack drones had been assembled in {C} from parts bought "
            "abroad.",
        ),
        ("{N} drones {ACT} over {FOCUS}", "Drone strike hits {FOCUS} {KW} store"),
    ),
    Beat(
        "markets",
        (("share", "shares"), ("bond yield", "bond yields"), ("stock index", "stock indexes"),
         ("interest rate", "interest rates"), ("currency", "currencies")),
        (("rose", "risen"), ("fell", "fallen"), ("climbed", "climbed"), ("slipped", "slipped"),
         ("rallied", "rallied")),
        ("Capital", "Securities", "Central Bank", "Investment Trust"),
        ("trading floor", "bond market", "currency market", "exchange"),
        COUNTRIES,
        (
            "Shares in {ORG} {ACT} {PCT} in early trading after the company raised its "
            "{A} profit forecast for the year.",
            "The central bank of {C} held interest rates at {PCT}, saying inflation was "
            "easing more {ADV} than expected.",
            "\"Investors are pricing in a cut before {MONTH},\" said {P}, {ROLE} at "
            "{ORG2}.",
            "The benchmark stock index closed {PCT} higher after a {A} {NOUN}, its best day since {MONTH}.",
        ),
        ("{ORG} shares {ACT} {PCT} on {FOCUS} outlook",
         "{KW} prices lift {FOCUS} owner",
         "{FOCUS} bonds {ACT} as {S} signals caution"),
    ),
    Beat(
        "sport",
        (("match", "matches"), ("striker", "strikers"), ("goalkeeper", "goalkeepers"),
         ("championship", "championships"), ("season", "seasons")),
        (("won", "won"), ("lost", "lost"), ("drew", "drawn"), ("signed", "signed")),
        ("Football Club", "Athletic", "Rovers", "United"),
        ("stadium", "training ground", "home ground"),
        COUNTRIES,
        (
            "{ORG} won {N}-{N2} at home on {DAY}, with the striker {P} scoring twice in "
            "the second half.",
            "The coach {ADV} said the squad had trained for {N} weeks on set pieces before the "
            "championship match in {PLACE}.",
            "\"We deserved the points and the fans know it,\" {S} said after the match.",
            "The {A} win lifts the club to third in the league, {N} points behind the "
            "leaders with {N2} matches of the season left.",
        ),
        ("{ORG} beat rivals at {FOCUS} thriller", "{S} scores twice as {ORG} win {KW} derby"),
    ),
    Beat(
        "weather",
        (("storm", "storms"), ("flood warning", "flood warnings"), ("gale", "gales"),
         ("heatwave", "heatwaves"), ("downpour", "downpours")),
        (("struck", "struck"), ("battered", "battered"), ("flooded", "flooded"),
         ("eased", "eased")),
        ("Met Office", "Weather Service", "Flood Agency"),
        ("river", "coast", "valley", "ring road"),
        COUNTRIES,
        (
            "Forecasters at {ORG} issued flood warnings for {N} districts as heavy rain "
            "and gales {ACT} the coast near {PLACE}.",
            "Rainfall of {N}0 millimetres was recorded in {N2} hours, and the {A} river burst "
            "its banks at two points.",
            "\"Stay away from the river and do not drive through floodwater,\" {S} said.",
            "The {A} storm brought down trees and power lines, leaving {BIG} homes without "
            "electricity overnight.",
        ),
        ("Storm {ACT} {FOCUS} as flood warnings issued",
         "Floods cut off {FOCUS} and {KW} road"),
    ),
    Beat(
        "city",
        (("budget", "budgets"), ("bridge", "bridges"), ("library", "libraries"),
         ("bus route", "bus routes"), ("housing plan", "housing plans"), ("school", "schools")),
        (("approved", "approved"), ("delayed", "delayed"), ("rejected", "rejected"),
         ("opened", "opened")),
        ("City Council", "Housing Trust", "Transport Board", "Residents Association"),
        ("town hall", "high street", "old quarter", "ring road"),
        COUNTRIES,
        (
            "Councillors in {PLACE} {ACT} the plan by {N} votes to {N2} after a debate "
            "that lasted late into the evening.",
            "The {A} scheme will cost {MONEY}, of which {PCT} comes from a grant, according "
            "to {ORG}.",
            "\"This is about whether families can afford to live here,\" said {P}, "
            "{ROLE} of {ORG2}.",
            "Work on the {A} bridge is due to start in {MONTH} and take {N} months.",
        ),
        ("Council {ACT} {MONEY} plan for {FOCUS}",
         "Works at {FOCUS} {ACT} again", "{S} pushes {ORG} on {FOCUS} {KW}"),
    ),
    Beat(
        "science",
        (("laboratory", "laboratories"), ("battery", "batteries"), ("satellite", "satellites"),
         ("vaccine trial", "vaccine trials"), ("telescope", "telescopes")),
        (("tested", "tested"), ("launched", "launched"), ("published", "published"),
         ("unveiled", "unveiled")),
        ("Institute of Technology", "Research Centre", "Space Agency", "University"),
        ("laboratory", "launch site", "clinic", "observatory"),
        COUNTRIES,
        (
            "Researchers at {ORG} said the new battery kept {PCT} of its capacity after "
            "{BIG} charging cycles.",
            "The results, published on {DAY}, were based on {N} years of {A} measurements "
            "taken at the observatory near {PLACE}.",
            "\"We were surprised by how stable it was,\" said {P}, who led the work.",
            "The {A} satellite is due to be launched from {C} in {MONTH}.",
        ),
        ("{ORG} {ACT} {KW} battery at {FOCUS}",
         "Scientists at {FOCUS} report {KW} result"),
    ),
)
BEAT_INDEX = {b.name: b for b in BEATS}

# a word bank for the slots {A}, {A2} (adjectives), {NOUN}, {NOUN2} and {ADV}: drawn per
# sentence, so that unrelated articles share grammar but few word 3-shingles
ADJS = (
    "new", "old", "large", "small", "local", "regional", "national", "private", "public",
    "recent", "early", "former", "senior", "official", "independent", "internal", "annual",
    "central", "northern", "southern", "eastern", "western", "coastal", "rural", "urban",
    "industrial", "commercial", "financial", "legal", "political", "technical", "temporary",
    "permanent", "unexpected", "serious", "minor", "major", "brief", "lengthy", "detailed",
    "formal", "confidential", "preliminary", "final", "initial", "separate", "joint",
    "partial", "modest", "sharp", "steady", "gradual", "sudden", "rare", "routine", "costly",
    "crowded", "remote", "fragile", "bitter", "cautious", "heated", "overdue", "revised",
)
NOUNS = (
    "report", "agreement", "contract", "inquiry", "review", "audit", "proposal", "decision",
    "complaint", "petition", "lawsuit", "hearing", "meeting", "vote", "deal", "loan", "grant",
    "tariff", "price", "wage", "pension", "subsidy", "licence", "permit", "survey", "study",
    "forecast", "estimate", "memo", "letter", "statement", "briefing", "interview", "visit",
    "tour", "protest", "strike", "dispute", "delay", "shortage", "surplus", "backlog",
    "deadline", "schedule", "timetable", "inspection", "warning", "ruling", "appeal",
    "settlement", "merger", "tender", "auction", "campaign", "debate", "consultation",
    "assessment", "ledger", "manifest", "invoice", "logbook", "map", "photograph", "recording",
)
ADVERBS = (
    "quietly", "quickly", "slowly", "publicly", "privately", "repeatedly", "briefly",
    "formally", "openly", "reluctantly", "eventually", "initially", "suddenly", "gradually",
    "carefully", "largely", "partly", "already", "still", "firmly",
)
# beat-neutral sentences, composed: an opener, a clause and a tail; {FOCUS}/{FOCUS2} are
# the story's own subjects, {THING}/{THINGS}/{ACT}/{ACTPP}/{AREA} come from its beat
OPENERS = (
    "{P}, {ROLE} at {ORG}, said", "Officials in {C} {ADV} said", "A {A} statement from {ORG} said",
    "{S} told reporters in {PLACE} that", "According to a {A} {NOUN} by {ORG2},",
    "People familiar with the {NOUN} said", "A {A} {NOUN} seen by this newspaper shows that",
    "In an interview on {DAY}, {S} said", "Residents of {PLACE} {ADV} said",
    "Analysts at {ORG2} said", "{S} {ADV} argued that", "A {NOUN} published in {MONTH} found that",
    "Inspectors from {ORG2} said", "Lawmakers in {C} were told during a {A} {NOUN} that",
    "Figures released on {DAY} suggest that", "{P}, a {ROLE} who has followed the {NOUN}, said",
    "The government of {C2} {ADV} said", "Local newspapers in {C} reported that",
    "Critics, among them {P} of {ORG2}, say", "Asked about the {NOUN} on {DAY}, {S} said",
    "Union leaders at the {FOCUS} complained that", "Campaigners outside the {FOCUS2} insist",
    "Shareholders of {ORG} learned on {DAY} that", "Emails obtained under freedom of "
    "information rules reveal that", "Neighbours in {PLACE} have long suspected that",
    "Court filings lodged in {MONTH} allege that", "Engineers who visited the {FOCUS} "
    "concluded that", "A former {ROLE} of {ORG}, {P}, recalled that",
    "Insurance assessors estimate that", "Minutes of a {A} {NOUN} record that",
    "Volunteers in {PLACE} noticed that", "Auditors appointed by {ORG2} believe",
)
CLAUSES = (
    "the {A} {FOCUS} had {ACTPP} {N} {THINGS} since {MONTH}",
    "work on the {FOCUS} would resume after the {KW} {NOUN} within {N} weeks",
    "the cost of the {A} {KW} at the {FOCUS} had risen to {MONEY}",
    "{N} {A} {THINGS} were {ACTPP} near the {AREA} in {PLACE}",
    "the {FOCUS} employs {BIG} people in its {KW} and {KW2} works",
    "the {FOCUS2} was never designed for {A} {THINGS} on this scale",
    "{ORG} had ignored {N} {A} warnings about the {KW} at the {FOCUS}",
    "the {KW} at the {AREA} was {A} but under control",
    "the owners of the {FOCUS} owed {MONEY} to lenders in {C2}",
    "talks between {ORG} and {ORG2} about the {KW} {NOUN} had stalled",
    "the {FOCUS} handled {PCT} more {THINGS} than a year earlier",
    "a {A2} {THING} was expected before the end of {MONTH}",
    "the {FOCUS2} near {PLACE} would stay closed for {N} days",
    "{C} and {C2} would share the cost of the {A} {FOCUS}",
    "nobody at the {FOCUS} had seen the {KW} {NOUN} until {DAY}",
    "the {FOCUS} was insured for far less than {MONEY}",
    "{N2} managers of the {FOCUS2} had resigned over the {KW} {NOUN}",
    "the {THINGS} were {ACTPP} without a {NOUN} from {ORG}",
    "the {FOCUS} could reopen as early as {MONTH}",
    "the {FOCUS2} and the {FOCUS} share a {KW} {KW2} {NOUN}",
    "the {AREA} at {PLACE} had seen {A} scenes on {DAY} morning",
    "the {FOCUS} will need {MONEY} of repairs to its {KW}",
    "the {KW} shed behind the {FOCUS} flooded twice last winter",
    "contractors left the {FOCUS2} without heating for {N} days",
    "a {KW2} consignment vanished between {PLACE} and the {AREA}",
    "pensioners living beside the {FOCUS} want compensation",
    "the mayor of {PLACE} skipped the {NOUN} about the {FOCUS}",
    "the {FOCUS} lost its licence briefly in {MONTH}",
    "fishermen near the {FOCUS2} blame the {KW} spill",
    "the accounts of {ORG} understate the {FOCUS} debts",
    "{N} apprentices at the {FOCUS} were laid off",
    "smoke from the {FOCUS2} drifted across {PLACE} for hours",
    "tenders for the {KW} contract attracted only {N2} bids",
    "the {FOCUS} board met in secret to discuss the {KW}",
)
TAILS = (
    ".", ".", ".", ", a claim {ORG2} disputes.", ", and that a {A} {NOUN} would follow.",
    ", although no {NOUN} was given.", ", citing a {A} {NOUN}.",
    ", after a {A} {NOUN} that lasted {N} hours.", ", in a {A} sign of concern in {C}.",
    ", the {ORD} such {NOUN} this year.", ", according to people briefed on the {NOUN}.",
    ", which {ORG} has not confirmed.", ", weeks after the {KW} {NOUN}.",
    ", a point {S} has made before.", ", while the {NOUN} continues.",
)
QUOTES = (
    "\"We have looked at every {KW} we could find,\" {S} said.",
    "\"Nobody should pretend this {NOUN} is normal,\" said {P}, {ROLE} at {ORG2}.",
    "\"The {FOCUS} is not going anywhere, whatever the {NOUN} says,\" {S} said.",
    "\"We asked for the {NOUN} of the {FOCUS2} in {MONTH} and we are still waiting,\" said {P}.",
    "\"It is too early to say what happened to the {KW} and the {KW2},\" {S} told reporters.",
    "\"Our members at the {FOCUS} deserve a {A} {NOUN},\" said {P}, {ROLE} at {ORG}.",
    "\"I have never seen a {KW} like it in {N} years,\" said {P}.",
    "\"If the {NOUN} holds, the {FOCUS2} will survive,\" {S} said.",
    "\"The {KW2} was the easy part,\" {S} told the {A} {NOUN}.",
    "\"We will publish every {NOUN} we have on the {FOCUS},\" said {P}, {ROLE} at {ORG2}.",
    "\"Ask the people of {PLACE} what they think of the {KW},\" {S} said.",
    "\"There is no {A} answer to this,\" said {P}.",
)
# what a story is about: a place stem and a facility, distinct per story
FACILITIES = (
    "quarry", "shipyard", "refinery", "tannery", "sawmill", "brewery", "cannery", "foundry",
    "granary", "reservoir", "lighthouse", "ferry terminal", "cable car", "tram depot",
    "power plant", "water works", "paper mill", "textile mill", "steel works", "salt mine",
    "copper smelter", "grain silo", "seed bank", "vineyard", "dairy plant", "hospital wing",
    "courthouse", "museum annexe", "stadium roof", "airport terminal", "rail tunnel",
    "canal lock", "flood barrier", "wind farm", "solar park", "data centre", "cold store",
    "fish market", "bus garage", "sewage plant", "landfill", "glassworks", "pottery works",
    "orchard estate", "racecourse", "marina", "observatory dome", "printing works",
)
ORDINALS = ("second", "third", "fourth", "fifth", "sixth")

# each story's own words (a real story's vocabulary is mostly its own)
KEYWORDS = tuple("""
anchor archive badge balcony ballot banner barn barrel basket beacon bell bench blanket
boiler bolt bookshop boot bottle boulder bracket brick bucket cabin cable cage canvas carpet
cart castle cathedral cellar chapel chimney clock cloth coat coin collar column compass
cottage crane crate crown cushion dock drum engine fabric fence flag flask fountain furnace
garage garden gate glove granite gravel greenhouse hammer helmet highway hinge hut jacket
jar kettle kiln ladder lamp lantern lever locker loom lorry magnet mast meadow mirror motor
nail needle oven paddock pantry parcel pavement pier pillar plank platform plough pulley pump
quay ramp rope saddle sail satchel scaffold shed shelf shovel siren sledge spire stable
statue steeple stove tent timber torch tower tractor trailer trench trolley trunk turbine
valve van vault wagon wheel whistle windmill workshop yard acorn almond barley beetroot
cabbage carrot cherry chestnut cider clover cotton flax ginger hazel hemp honey juniper
lavender lemon linen maize malt mint mustard nettle oat olive onion pepper plum potato
pumpkin quince radish rye saffron sage sorghum spinach sugar thyme tobacco tomato turnip
walnut wheat willow wool yarn amber basalt bronze chalk clay cobalt copper coral flint
graphite gypsum iron jade lead marble mercury nickel ochre opal pewter quartz resin salt
silver slate sulphur tin zinc badger beaver falcon ferret heron lobster mackerel otter
oyster pelican pigeon salmon sardine seal sparrow squid stork swan trout tuna walrus
""".split())  # noqa: SIM905
# sentences about an event: its facts, fixed for every outlet that covers it
EVENT_FACTS = (
    "{LEAD}, {LEAD_ROLE} at {EORG}, said {EN} {ETHINGS} had been {EACTPP} at the {EAREA} "
    "in {EPLACE}.",
    "The {EAREA} in {EPLACE} handled {EBIG} tonnes of cargo last year, according to a {A} "
    "{NOUN} by {EORG}.",
    "{ELEAD_S} put the cost at {EMONEY}, a figure {EORG} has not {ADV} disputed.",
    "{EC} said the {ETHINGS} came from {EC2}, which has denied any involvement.",
    "The first reports from {EPLACE} came on {EDAY}, when {EN} {ETHINGS} were seen at the "
    "{EAREA}.",
    "\"What happened at {EPLACE} is only the beginning,\" {ELEAD_S} said.",
    "Investigators from {EC} have asked {EORG} for its {NOUN} on the {EN} {ETHINGS}.",
    "{EORG} said the {ETHINGS} in {EPLACE} would be examined by {A} experts.",
)
# what a follow-up adds: a new speaker, a new organisation and a new figure
EVENT_NEWS = (
    "{NEWP}, {NEWROLE} at {NEWORG}, said the true number was closer to {NEWN} {ETHINGS}.",
    "\"We warned {EORG} about {EPLACE} months ago and nobody listened,\" {NEWP_S} said.",
    "{NEWORG} said on {NEWDAY} that it had found records of {NEWN} more {ETHINGS} at the "
    "{EAREA}.",
    "{NEWP_S} called for an inquiry by {EC} into the events at {EPLACE}.",
    "According to {NEWORG}, the total cost has risen to {NEWMONEY}.",
)


@dataclass
class Cast:
    """The people, organisations, places and countries one article talks about."""

    people: list[tuple[str, str]]  # (full name, role)
    orgs: list[str]
    places: list[str]
    countries: list[str]
    focus: list[str]  # what the story is about, e.g. "Dunholm salt mine"
    words: list[str]  # the story's own words
    bank: dict[str, list[str]] = field(default_factory=dict)  # the article's own slot words


@dataclass
class Event:
    """A developing story: the facts every outlet that covers it shares."""

    key: str
    beat: Beat
    slots: dict[str, str]
    lead: str  # the lead person's full name (watches use it)
    org: str
    focus: list[str]
    words: list[str]
    updates: list[dict[str, str]] = field(default_factory=list)  # one per follow-up


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(SURNAMES)}"


def organisation(rng: random.Random, beat: Beat) -> str:
    return f"{rng.choice(ORG_STEMS)} {rng.choice(beat.org_kinds)}"


def number(rng: random.Random, low: int = 3, high: int = 40) -> str:
    return str(rng.randint(low, high))


def money(rng: random.Random) -> str:
    amount = f"{rng.randint(2, 950)}.{rng.randint(1, 9)}"
    return rng.choice((f"${amount} million", f"{amount} million euros", f"${amount} billion",
                       f"£{rng.randint(12, 990)},000"))


def focus(rng: random.Random) -> list[str]:
    first, second = rng.sample(FACILITIES, 2)
    return [f"{rng.choice(PLACES)} {first}", second]


def cast_for(rng: random.Random, beat: Beat) -> Cast:
    people = [(person(rng), rng.choice(ROLES)) for _ in range(rng.randint(3, 5))]
    orgs = list(dict.fromkeys(organisation(rng, beat) for _ in range(3)))
    countries = [rng.choice(beat.countries), rng.choice(COUNTRIES)]
    if countries[0] == countries[1]:
        countries.pop()
    bank = {"DAY": rng.sample(DAYS, 2), "MONTH": rng.sample(MONTHS, 2),
            "A": rng.sample(ADJS, 10), "NOUN": rng.sample(NOUNS, 10),
            "ADV": rng.sample(ADVERBS, 4), "PERIOD": rng.sample(PERIODS, 2)}
    return Cast(people, orgs, rng.sample(PLACES, 2), countries, focus(rng),
                rng.sample(KEYWORDS, 6), bank)


def fill(template: str, rng: random.Random, beat: Beat, cast: Cast,
         extra: dict[str, str] | None = None) -> str:
    """A template with its slots filled from the beat, the cast and ``extra``."""
    thing = rng.choice(beat.things)
    verb = rng.choice(beat.verbs)
    p, role = rng.choice(cast.people)
    p2, _ = rng.choice(cast.people)
    bank = cast.bank
    a, a2 = rng.sample(bank["A"], 2)
    noun, noun2 = rng.sample(bank["NOUN"], 2)
    kw, kw2 = rng.sample(cast.words, 2)
    values = {
        "P": p, "S": p2.split()[-1], "ROLE": role, "ORG": cast.orgs[0],
        "ORG2": rng.choice(cast.orgs), "PLACE": rng.choice(cast.places),
        "C": cast.countries[0], "C2": cast.countries[-1], "N": number(rng),
        "N2": number(rng, 2, 9), "BIG": f"{rng.randint(1, 90)},{rng.randint(100, 999)}",
        "MONEY": money(rng), "PCT": f"{rng.randint(1, 19)}.{rng.randint(1, 9)} percent",
        "DAY": rng.choice(bank["DAY"]), "MONTH": rng.choice(bank["MONTH"]),
        "PERIOD": rng.choice(bank["PERIOD"]),
        "THING": thing[0], "THINGS": thing[1], "ACT": verb[0], "ACTPP": verb[1],
        "AREA": rng.choice(beat.areas), "ADJ": a,
        "ORD": rng.choice(ORDINALS), "A": a, "A2": a2, "NOUN": noun, "NOUN2": noun2,
        "ADV": rng.choice(bank["ADV"]), "FOCUS": cast.focus[0], "FOCUS2": cast.focus[-1],
        "KW": kw, "KW2": kw2,
    }
    values.update(extra or {})
    text = template.format(**values)
    return text[0].upper() + text[1:]


def make_event(rng: random.Random, key: str, follow_ups: int) -> Event:
    beat = rng.choice(BEATS)
    lead, role = person(rng), rng.choice(ROLES)
    org = organisation(rng, beat)
    thing, verb = rng.choice(beat.things), rng.choice(beat.verbs)
    c, c2 = rng.sample(beat.countries, 2)
    slots = {
        "LEAD": lead, "LEAD_ROLE": role, "ELEAD_S": lead.split()[-1], "EORG": org,
        "EN": number(rng, 12, 90), "ETHINGS": thing[1], "EACTPP": verb[1],
        "EAREA": rng.choice(beat.areas), "EPLACE": rng.choice(PLACES),
        "EBIG": f"{rng.randint(2, 90)},{rng.randint(100, 999)}", "EMONEY": money(rng),
        "EC": c, "EC2": c2, "EDAY": rng.choice(DAYS),
    }
    event = Event(key, beat, slots, lead, org, focus(rng), rng.sample(KEYWORDS, 6))
    for _ in range(follow_ups):
        newp = person(rng)
        event.updates.append({
            "NEWP": newp, "NEWP_S": newp.split()[-1], "NEWROLE": rng.choice(ROLES),
            "NEWORG": organisation(rng, beat), "NEWN": number(rng, 100, 400),
            "NEWDAY": rng.choice(DAYS), "NEWMONEY": money(rng),
        })
    return event


FOLLOW_UP_TITLES = (
    "{NEWORG} disputes {EPLACE} figures as pressure grows on {ELEAD_S}",
    "New figures on {EPLACE} {ETHINGS} raise questions for {EORG}",
    "{NEWP_S} calls for inquiry into {EPLACE} {ETHINGS}",
    "{NEWORG} finds {NEWN} more {ETHINGS} at {EPLACE}",
)


@dataclass
class PlannedArticle:
    """One article of the load: where and when it is published, and what it says."""

    feed: int
    wave: int
    slug: str
    title: str
    author: str
    paragraphs: list[str]
    event: str = ""  # the developing story it belongs to ("" for one-off stories)
    role: str = "single"  # single | first | follow-up | copy
    beat: str = ""
    names: tuple[str, ...] = ()  # people and organisations it names (for the watches)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def body(rng: random.Random, beat: Beat, cast: Cast, opening: list[str],
         extra: dict[str, str] | None = None, pool: Sequence[str] = ()) -> list[str]:
    """Paragraphs of 600–1,200 words: ``opening`` first, then ``pool`` sentences (an
    event's facts) spread among two of the beat's own sentences, quotes and composed
    sentences (the beat's sentences are few and shared: more would make every story of a
    beat look like one)."""
    target = rng.randint(600, 1200)
    pending = list(pool)
    rng.shuffle(pending)
    beat_left = rng.sample(beat.sentences, 2)
    # each article has its own phrasing: a few of the openers, clauses, tails and quotes
    openers, clauses = rng.sample(OPENERS, 5), rng.sample(CLAUSES, 6)
    tails, quotes = [".", *rng.sample(TAILS[3:], 3)], rng.sample(QUOTES, 2)
    sentences = list(opening)
    words = sum(len(s.split()) for s in sentences)
    while words < target:
        roll = rng.random()
        if pending and roll < 0.25:
            template = pending.pop()
        elif beat_left and roll < 0.35:
            template = beat_left.pop()
        elif roll < 0.42:
            template = rng.choice(quotes)
        else:
            template = rng.choice(openers) + " " + rng.choice(clauses) + rng.choice(tails)
        sentence = fill(template, rng, beat, cast, extra)
        sentences.append(sentence)
        words += len(sentence.split())
    paragraphs, i = [], 0
    while i < len(sentences):
        n = rng.randint(2, 4) if i else min(2, len(sentences))
        paragraphs.append(" ".join(sentences[i : i + n]))
        i += n
    return paragraphs


def event_article(rng: random.Random, event: Event, j: int, role: str) -> tuple[str, list[str], Cast]:
    """The title and paragraphs of the ``j``-th article about ``event`` (0: the first)."""
    beat, s = event.beat, event.slots
    news = dict(s)
    cast = cast_for(rng, beat)
    cast.people.insert(0, (event.lead, s["LEAD_ROLE"]))
    cast.orgs.insert(0, event.org)
    cast.places.insert(0, s["EPLACE"])
    cast.countries[:] = [s["EC"], s["EC2"]]
    cast.focus[:] = event.focus
    cast.words[:] = event.words
    for update in event.updates[:j]:  # what earlier follow-ups reported is known now
        cast.people.append((update["NEWP"], update["NEWROLE"]))
        cast.orgs.append(update["NEWORG"])
    facts = [fill(f, rng, beat, cast, news) for f in EVENT_FACTS]
    if j == 0 or role == "copy":
        title = fill(rng.choice(beat.titles), rng, beat, cast, news)
        opening = facts[:2]
        paragraphs = body(rng, beat, cast, opening, news, EVENT_FACTS[2:])
        return title, paragraphs, cast
    update = event.updates[j - 1]
    news.update(update)
    title = fill(FOLLOW_UP_TITLES[j % len(FOLLOW_UP_TITLES)], rng, beat, cast, news)
    added = [fill(t, rng, beat, cast, news) for t in EVENT_NEWS]
    opening = [added[0], facts[0], added[1]]
    paragraphs = body(rng, beat, cast, opening, news, [*EVENT_FACTS[1:], *EVENT_NEWS[2:]])
    cast.people.append((update["NEWP"], update["NEWROLE"]))
    cast.orgs.append(update["NEWORG"])
    return title, paragraphs, cast


def near_copy(rng: random.Random, original: PlannedArticle) -> tuple[str, list[str]]:
    """A syndicated copy: the same paragraphs with one sentence dropped, a new headline."""
    paragraphs = list(original.paragraphs)
    k = rng.randrange(1, len(paragraphs))
    sentences = paragraphs[k].split(". ")
    paragraphs[k] = ". ".join(sentences[:-1]) + "." if len(sentences) > 1 else paragraphs[k]
    return original.title.replace(" says", " reports"), paragraphs


@dataclass(frozen=True)
class Outlet:
    name: str
    sections: tuple[str, ...]


OUTLET_KINDS = ("Courier", "Herald", "Gazette", "Wire", "Chronicle", "Post", "Observer",
                "Dispatch")
SECTIONS = ("news", "world", "business", "local", "sport", "science")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:70]


@dataclass
class Corpus:
    outlets: list[Outlet]
    feeds: list[tuple[int, str]]  # (host index, section)
    articles: list[PlannedArticle]
    events: dict[str, Event]
    waves: int
    built_at: datetime


def plan(feeds: int, hosts: int, per_feed: int, waves: int, seed: int,
         event_share: float = 0.4) -> Corpus:
    """Every article of the load, with its feed, wave and text (deterministic per seed)."""
    rng = random.Random(seed)
    hosts = max(1, min(hosts, feeds))
    waves = max(1, min(waves, per_feed))
    outlets = [Outlet(f"The {place} {kind}", ())
               for place, kind in zip(rng.sample(PLACES, hosts),
                                      (OUTLET_KINDS * hosts)[:hosts], strict=True)]
    feed_list = [(f % hosts, SECTIONS[(f // hosts) % len(SECTIONS)]) for f in range(feeds)]
    free: dict[tuple[int, int], int] = {}
    for f in range(feeds):
        for k in range(per_feed):
            free[(k * waves // per_feed, f)] = free.get((k * waves // per_feed, f), 0) + 1
    total = feeds * per_feed
    slots: list[tuple[int, int, str, int, str]] = []  # (wave, feed, event, j, role)
    events: dict[str, Event] = {}
    in_events = 0
    while in_events < event_share * total:
        size = rng.randint(3, 5) if hosts >= 3 else 2
        start = rng.randrange(max(1, waves - 1))
        key = f"event-{len(events) + 1:02d}"
        used_hosts: set[int] = set()
        picked: list[tuple[int, int]] = []
        for j in range(size):
            wave = min(waves - 1, start + j)
            options = [f for f in range(feeds) if free.get((wave, f), 0) > 0
                       and feed_list[f][0] not in used_hosts]
            if not options:
                break
            f = rng.choice(options)
            free[(wave, f)] -= 1
            used_hosts.add(feed_list[f][0])
            picked.append((wave, f))
        if len(picked) < 2:
            for wave, f in picked:
                free[(wave, f)] += 1
            break
        copy_at = len(picked) - 1 if len(picked) >= 4 and rng.random() < 0.6 else -1
        events[key] = make_event(rng, key, len(picked))
        for j, (wave, f) in enumerate(picked):
            role = "first" if j == 0 else "copy" if j == copy_at else "follow-up"
            slots.append((wave, f, key, j, role))
        in_events += len(picked)
    for (wave, f), left in sorted(free.items()):
        slots += [(wave, f, "", 0, "single")] * left
    articles: list[PlannedArticle] = []
    firsts: dict[str, PlannedArticle] = {}
    for wave, f, key, j, role in sorted(slots, key=lambda s: (s[0], s[2] == "", s[2], s[3])):
        author = person(rng)
        if key:
            event = events[key]
            if role == "copy":
                title, paragraphs = near_copy(rng, firsts[key])
                names: tuple[str, ...] = firsts[key].names
            else:
                title, paragraphs, cast = event_article(rng, event, j, role)
                names = tuple(p for p, _ in cast.people) + tuple(cast.orgs)
            beat_name = event.beat.name
        else:
            beat = rng.choice(BEATS)
            cast = cast_for(rng, beat)
            title = fill(rng.choice(beat.titles), rng, beat, cast)
            opening = [fill(rng.choice(OPENERS) + " " + rng.choice(CLAUSES[:3]) + ".", rng,
                            beat, cast)]
            paragraphs = body(rng, beat, cast, opening)
            names, beat_name = tuple(p for p, _ in cast.people) + tuple(cast.orgs), beat.name
        slug = f"{slugify(title)}-{len(articles) + 1:04d}"
        article = PlannedArticle(f, wave, slug, title, author, paragraphs, key, role,
                                 beat_name, names)
        if role == "first":
            firsts[key] = article
        articles.append(article)
    built = datetime.now(UTC).replace(microsecond=0)
    return Corpus(outlets, feed_list, articles, events, waves, built)


# -- pages and feeds ----------------------------------------------------------------------

NAV = ("World", "Business", "Local", "Sport", "Science", "Weather", "Opinion", "Culture",
       "Travel", "Video", "Podcasts", "Puzzles")
FOOTER = ("About us", "Contact", "Corrections", "Careers", "Privacy policy", "Cookie policy",
          "Terms of use", "Advertise", "Newsletters", "Accessibility", "Sitemap", "Archive",
          "RSS feeds", "Help")
COMMENTS = (
    ("harbour_reader", "Thanks for laying this out so clearly. I had only seen the headline."),
    ("m.quill", "I would like to see the underlying documents before drawing conclusions."),
    ("OldSubscriber", "This is why I still pay for local news. Keep it up."),
    ("valley_dad", "A map would have made this much easier to follow."),
    ("ana_p", "Shared this with my book club. We argued about it for an hour."),
    ("tkessler", "Not surprised in the least. We were told the opposite a month ago."),
)
MOST_READ = (
    "Ten kitchen gadgets that pay for themselves in a month",
    "The stretch physiotherapists wish everyone did before bed",
    "Fans spot a hidden detail in the new season trailer",
    "What your coffee order says about your personality",
    "Why airline seats are getting narrower, explained",
)
PAGE_STYLE = (
    "body{font-family:Georgia,serif;margin:0}.site-header{display:flex;gap:1rem}"
    ".cookie-banner{position:fixed;bottom:0}.story-body p{line-height:1.6}"
    ".related li,.most-read li{margin:.25rem 0}.ad{background:#f4f4f4;padding:1rem}"
)


def published_at(corpus: Corpus, a: PlannedArticle) -> datetime:
    """The date the page and the feed state (the measured publication is the feed's)."""
    return corpus.built_at - timedelta(minutes=10 * (corpus.waves - a.wave))


def article_path(a: PlannedArticle, corpus: Corpus) -> str:
    section = corpus.feeds[a.feed][1]
    return f"/{section}/{published_at(corpus, a):%Y/%m/%d}/{a.slug}.html"


def render_page(corpus: Corpus, a: PlannedArticle, base_url: str) -> bytes:
    """A full article page: head metadata and JSON-LD, cookie banner, navigation, header,
    byline, body paragraphs (with an inline promo and an ad), tags, related links,
    comments, a most-read list, a newsletter box and the footer."""
    host, section = corpus.feeds[a.feed]
    outlet = corpus.outlets[host].name
    url = base_url + article_path(a, corpus)
    when = published_at(corpus, a)
    stamp = f"{when:%Y-%m-%dT%H:%M:%SZ}"
    e = escape
    ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
        "datePublished": stamp, "dateModified": stamp, "url": url,
        "author": {"@type": "Person", "name": a.author},
        "publisher": {"@type": "Organization", "name": outlet},
    })
    nav = "".join(f'<li><a href="/{n.lower()}/">{n}</a></li>' for n in NAV)
    paras = []
    for i, p in enumerate(a.paragraphs):
        paras.append(f"<p>{e(p)}</p>")
        if i == 2:
            paras.append('<div class="ad ad-inline" aria-hidden="true"><span>Advertisement'
                         "</span> Compare quotes from 40 insurers in two minutes</div>")
        if i == 5:
            paras.append(f'<p class="promo"><strong>Read more:</strong> <a href="/{section}/">'
                         f"More from our {section} desk</a></p>")
    siblings = [b for b in corpus.articles if b.feed == a.feed and b is not a][:5]
    related = "".join(
        f'<li><a href="{article_path(b, corpus)}">{e(b.title)}</a></li>' for b in siblings)
    start = sum(map(ord, a.slug))
    comments = "".join(
        f'<div class="comment"><p class="comment-author">{e(user)}</p><p>{e(text)}</p>'
        '<p class="comment-meta">2 hours ago · Reply · Report</p></div>\n'
        for user, text in (COMMENTS[(start + 2 * i) % len(COMMENTS)] for i in range(3)))
    most_read = "".join(f'<li><a href="/trending/{i}">{e(t)}</a></li>'
                        for i, t in enumerate(MOST_READ))
    footer = "".join(f'<li><a href="/{slugify(n)}">{n}</a></li>' for n in FOOTER)
    tags = "".join(f'<li><a href="/tag/{slugify(n)}">{e(n)}</a></li>' for n in a.names[:4])
    summary = a.paragraphs[0].split(". ")[0].rstrip(".") + "."
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(a.title)} | {e(outlet)}</title>
<meta name="description" content="{e(summary)}">
<meta property="og:site_name" content="{e(outlet)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(a.title)}">
<meta property="og:url" content="{e(url)}">
<meta name="author" content="{e(a.author)}">
<meta property="article:published_time" content="{stamp}">
<meta property="article:section" content="{section.title()}">
<link rel="canonical" href="{e(url)}">
<link rel="alternate" type="application/rss+xml" title="{e(outlet)}" href="/{section}/rss.xml">
<style>{PAGE_STYLE}</style>
<script type="application/ld+json">{ld}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}
gtag('js',new Date());gtag('config','G-BENCH{host:04d}',{{'anonymize_ip':true}});</script>
</head>
<body class="article-page section-{section}">
<div class="cookie-banner" role="dialog" aria-label="Cookie consent"><p>We use cookies to
count our readers and to show offers from a few partners. You can change your choices at any
time in Privacy settings.</p><button class="accept">Accept all</button>
<button class="manage">Manage preferences</button></div>
<header class="site-header"><a class="logo" href="/">{e(outlet)}</a>
<nav class="main-nav" aria-label="Sections"><ul>{nav}</ul></nav>
<a class="subscribe" href="/subscribe">Subscribe</a> <a href="/login">Sign in</a>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
<nav class="breadcrumb"><a href="/">Home</a> › <a href="/{section}/">{section.title()}</a></nav>
<main id="main">
<article class="story">
<header class="story-header"><p class="kicker">{section.title()}</p>
<h1 class="headline">{e(a.title)}</h1>
<div class="byline">By <span class="author">{e(a.author)}</span> |
<time datetime="{stamp}">{when:%B} {when.day}, {when.year}, {when:%H:%M} UTC</time></div>
</header>
<div class="story-body">
{chr(10).join(paras)}
</div>
<ul class="tags">{tags}</ul>
<div class="share">Share this: <a href="/share/facebook">Facebook</a> <a href="/share/x">X</a>
<a href="/share/email">Email</a></div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
<section class="comments" id="comments"><h2>Comments (3)</h2>
{comments}<p class="comment-policy">Comments are moderated. Be civil.</p></section>
<aside class="most-read"><h3>Most read</h3><ol>{most_read}</ol></aside>
<div class="newsletter">Get the morning briefing in your inbox.
<a href="/newsletters">Sign up free</a></div>
</main>
<footer class="site-footer"><ul class="footer-links">{footer}</ul>
<p>&copy; {when.year} {e(outlet)}. All rights reserved. Reproduction without permission is
prohibited.</p></footer>
<script src="/static/app.js" defer></script>
</body>
</html>
"""
    return page.encode("utf-8")


def render_feed(corpus: Corpus, feed: int, base_url: str, items: list[PlannedArticle]) -> bytes:
    """The RSS 2.0 feed of ``feed`` with ``items`` (the published ones), newest first."""
    host, section = corpus.feeds[feed]
    outlet = corpus.outlets[host].name
    e = escape
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{e(outlet)}: {section}</title>\n<link>{e(base_url)}/{section}/</link>\n"
        f"<description>{e(outlet)}, {section} desk</description>\n<language>en</language>\n"
    ]
    for a in sorted(items, key=lambda a: (a.wave, a.slug), reverse=True):
        url = base_url + article_path(a, corpus)
        summary = a.paragraphs[0].split(". ")[0].rstrip(".") + "."
        out.append(
            f"<item>\n<title>{e(a.title)}</title>\n<link>{e(url)}</link>\n"
            f'<guid isPermaLink="true">{e(url)}</guid>\n<description>{e(summary)}</description>\n'
            f"<pubDate>{format_datetime(published_at(corpus, a), usegmt=True)}</pubDate>\n"
            f"<dc:creator>{e(a.author)}</dc:creator>\n<category>{section}</category>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")



@dataclass(frozen=True)
class Site:
    """The load's URLs and pages once its hosts are listening (pure: the pipeline's process
    and the generator's render the same bytes)."""

    corpus: Corpus
    bases: tuple[str, ...]  # one base URL per host

    def base_url(self, feed: int) -> str:
        return self.bases[self.corpus.feeds[feed][0]]

    def feed_path(self, feed: int) -> str:
        return f"/{self.corpus.feeds[feed][1]}/rss.xml"

    def feed_url(self, feed: int) -> str:
        return self.base_url(feed) + self.feed_path(feed)

    def url(self, a: PlannedArticle) -> str:
        return self.base_url(a.feed) + article_path(a, self.corpus)

    def page(self, a: PlannedArticle) -> bytes:
        return render_page(self.corpus, a, self.base_url(a.feed))
