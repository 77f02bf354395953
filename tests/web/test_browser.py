"""The web app in a real browser: Debian's Chromium, headless, driven by Selenium through
chromedriver, against a real server over the demo data. A new user's path: the overview,
the developing story, one follow-up article, a search, saving it as a watch (signing in
with the key on the way). Every page must log no JavaScript error (nor a refused
resource); screenshots go to ``build/screenshots/``.

Without Chromium, chromedriver or Selenium the tests skip; ``NEWSWATCH_REQUIRE_BROWSER=1``
(CI) makes that a failure. ``scripts/install-services.sh`` installs Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.webapp import KEY, browser_unavailable

from core.settings import Settings

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WIDTH = 1280


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        browser_unavailable("selenium is not installed (pip install -e '.[dev]')")
    binary = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        browser_unavailable("Chromium or chromedriver is missing "
                            "(apt-get install chromium chromium-driver; make services)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={WIDTH},1000", "--hide-scrollbars", "--lang=en-GB",
                     "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except WebDriverException as exc:
        browser_unavailable(f"Chromium would not start: {exc.msg}")
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def errors(driver: Any) -> list[dict[str, Any]]:
    """What the page logged as an error: script errors, failed loads, CSP refusals."""
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def shot(driver: Any, name: str) -> Path:
    """A screenshot of the whole page."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(max(height, 700), 5000))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, 1000)
    return path


def visit(driver: Any, url: str) -> None:
    driver.get(url)
    assert errors(driver) == [], url


def test_a_new_user_follows_the_story_and_creates_a_watch(
        browser: Any, served: tuple[str, Settings], demo_data: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, _settings = served
    d = browser
    visit(d, base + "/")  # the printed address leads to the overview
    assert d.current_url == base + "/web/"
    assert d.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert shot(d, "01-overview").stat().st_size > 10_000
    assert errors(d) == []

    # the developing story, from the overview
    first = d.find_element(By.CSS_SELECTOR, "section[aria-labelledby=developing-h] .story h3 a")
    first.click()
    assert d.current_url.endswith(f"/web/stories/{demo_data.story_id}")
    entries = d.find_elements(By.CSS_SELECTOR, "ol.timeline > li")
    assert len(entries) == len(demo_data.article_ids) - 1  # the near-duplicate is folded away
    copies = d.find_element(By.CSS_SELECTOR, "details.dups")
    copy_title = copies.find_element(By.CSS_SELECTOR, "ol h3 a")
    assert not copy_title.is_displayed()
    copies.find_element(By.TAG_NAME, "summary").click()
    assert copy_title.is_displayed()
    marked = d.find_elements(By.CSS_SELECTOR, "ol.timeline mark.new")
    assert marked and all(m.is_displayed() for m in marked[:3])  # what follow-ups added
    assert d.find_elements(By.CSS_SELECTOR, "table.pushes rect.for")  # why, as bars
    assert errors(d) == []
    shot(d, "02-story")

    # one follow-up article, with the sentences it added marked in its text
    entries[-1].find_element(By.CSS_SELECTOR, "h3 a").click()
    assert "/web/articles/" in d.current_url
    assert d.find_elements(By.CSS_SELECTOR, "section.text mark.new")
    assert errors(d) == []
    shot(d, "03-article")

    # "/" goes to the search box (our script), and a search highlights what it found
    d.find_element(By.TAG_NAME, "body").send_keys("/")
    box = d.switch_to.active_element
    assert box.get_attribute("id") == "quick-q"
    box.send_keys("artillery shells", Keys.ENTER)
    assert "/web/search?q=artillery+shells" in d.current_url
    hits = d.find_elements(By.CSS_SELECTOR, "ol.hits li.hit")
    assert len(hits) >= 4
    assert "artillery" in hits[0].find_element(By.TAG_NAME, "mark").text.lower()
    assert d.find_elements(By.CSS_SELECTOR, ".facets a")
    assert errors(d) == []
    shot(d, "04-search")

    # save it as a watch: the key is asked for once, then the form is filled in
    d.find_element(By.LINK_TEXT, "Save as watch…").click()
    assert "/web/login" in d.current_url
    assert errors(d) == []
    d.find_element(By.ID, "key").send_keys(KEY, Keys.ENTER)
    assert "/web/watches/new" in d.current_url
    assert d.find_element(By.ID, "w-query").get_attribute("value") == "artillery shells"
    name = d.find_element(By.ID, "w-name")
    name.clear()
    name.send_keys("Artillery shells")
    d.find_element(By.ID, "w-emails").send_keys("analyst@example.org")
    shot(d, "05-new-watch")
    d.find_element(By.CSS_SELECTOR, "form.watchform button[type=submit]").click()
    assert "notice=created" in d.current_url
    assert "The watch is saved" in d.find_element(By.CSS_SELECTOR, ".notice").text
    assert d.find_element(By.TAG_NAME, "h1").text == "Artillery shells"
    assert errors(d) == []
    shot(d, "06-watch")

    visit(d, base + "/web/watches")
    rows = d.find_elements(By.CSS_SELECTOR, "table.watches tbody tr")
    assert any("Artillery shells" in r.text for r in rows)
    shot(d, "07-watches")

    # signed in, the story page offers the corrections
    visit(d, f"{base}/web/stories/{demo_data.story_id}")
    split = d.find_element(By.CSS_SELECTOR, "#split-form button")
    assert not split.is_enabled()  # our script: nothing ticked yet
    d.find_element(By.ID, f"pick-{demo_data.article_ids[-1]}").click()
    assert split.is_enabled() and "1 ticked article" in split.text
    assert d.find_element(By.ID, "merge-other").get_attribute("list") == "other-stories"
    assert errors(d) == []
    shot(d, "09-story-signed-in")


def test_the_api_docs_render_offline(browser: Any, served: tuple[str, Settings]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    base, _settings = served
    visit(browser, base + "/docs")
    WebDriverWait(browser, 20).until(seen.presence_of_element_located(
        (By.CSS_SELECTOR, ".opblock-summary-path")))
    paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/search" in paths
    assert errors(browser) == []
    shot(browser, "08-api-docs")
