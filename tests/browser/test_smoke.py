"""The browser harness itself: the app is reachable, Chromium logs in, RTL renders."""
from helpers import email_for


def test_login_and_home_in_english_and_arabic(world, new_page, browser_login, shots):
    page = new_page("en")
    browser_login(page, email_for("investigator", "ES01"))
    assert page.locator("html").get_attribute("dir") == "ltr"
    shots(page, "home-en")
    page = new_page("ar")
    browser_login(page, email_for("investigator", "ES01"))
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    shots(page, "home-ar")
