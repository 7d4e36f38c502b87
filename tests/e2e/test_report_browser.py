"""The HTML reports in a real browser (headless Chromium driven by Playwright): a period
report and a simulation report, rendered from hand-made data, open without a console
error, without any request but the file itself, and with every chart drawn."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from report_samples import sample_period_report, sample_simulation

from bonus_local.report import render_period_report, render_simulation_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PERIOD_CHARTS = ["limits", "amounts", "reasons", "revisions", "rejections"]
SIMULATION_CHARTS = ["side-by-side", "gains-losses"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        how = "apt-get install -y chromium (make test does it when run as root)"
        found = shutil.which("chromium")
        pytest.skip(f"{CHROMIUM} is missing ({'found ' + found if found else how})")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    period = folder / "period.html"
    period.write_text(render_period_report(sample_period_report()), encoding="utf-8")
    simulation = folder / "simulation.html"
    simulation.write_text(render_simulation_report(sample_simulation()), encoding="utf-8")
    return {"period": period, "simulation": simulation}


def open_page(browser: Browser, path: Path) -> dict[str, Any]:
    """Open the file and report what the browser saw: console errors, page errors,
    every request, and for each chart its size and how many marks it draws."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # late requests (fonts, images) would show up here
    charts = page.eval_on_selector_all(
        "figure.chart",
        """figures => figures.map(figure => {
            const svg = figure.querySelector("svg");
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return {
                name: figure.dataset.chart,
                width: box.width,
                height: box.height,
                marks: svg ? svg.querySelectorAll("path[clip-path]").length : 0,
                texts: svg ? svg.querySelectorAll("text").length : 0,
            };
        })""",
    )
    seen = {
        "errors": errors,
        "requests": requests,
        "charts": charts,
        "title": page.title(),
        "heading": page.inner_text("h1"),
    }
    page.close()
    return seen


@pytest.mark.parametrize(
    ("kind", "charts", "heading"),
    [
        ("period", PERIOD_CHARTS, "Bonus report: spring-bonus, 2026-03"),
        ("simulation", SIMULATION_CHARTS, "Simulation: 2026-03"),
    ],
)
def test_the_report_opens_offline_with_every_chart_drawn(
    browser: Browser, pages: dict[str, Path], kind: str, charts: list[str], heading: str
) -> None:
    seen = open_page(browser, pages[kind])

    assert seen["errors"] == []
    assert seen["requests"] == [pages[kind].as_uri()]
    assert seen["heading"] == heading
    assert seen["title"] == heading
    assert [chart["name"] for chart in seen["charts"]] == charts
    for chart in seen["charts"]:
        assert chart["width"] > 200, chart
        assert chart["height"] > 80, chart
        assert chart["marks"] > 0, chart  # bars or lines, clipped to their axes
        assert chart["texts"] > 0, chart  # titles, labels, ticks
