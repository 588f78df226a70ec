"""The API documentation pages render in a real browser without contacting anyone else."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Redoc's sidebar always shows its vendor's logo from a CDN; the page's CSP blocks it, so
# the browser never sends that request.
REDOC_LOGO = r"cdn\.redoc\.ly/redoc/logo-mini\.svg"


def test_redoc_renders_the_schema_and_contacts_no_other_origin(desktop):
    desktop.problems.allow(REDOC_LOGO)
    answered: list[str] = []
    desktop.page.on("response", lambda response: answered.append(response.url))
    desktop.page.goto("/api/redoc")
    expect(desktop.page.get_by_role("heading", name="Lottery API", exact=False).first).to_be_visible()
    expect(desktop.page.get_by_text("/api/v1/auth/signin").first).to_be_attached()
    elsewhere = [url for url in answered if not url.startswith((desktop.base_url, "data:", "blob:"))]
    assert elsewhere == []
    assert all("redoc.ly" in problem for problem in desktop.problems.errors), desktop.problems.errors
