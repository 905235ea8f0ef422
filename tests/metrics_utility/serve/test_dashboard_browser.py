"""The dashboard in a real headless Chromium, served by the real `metrics-utility serve` over a demo storage.

The page's figures are compared with the API's own JSON (fetched beside the browser), the period switch is driven
through every granularity, a report is downloaded through the browser and compared byte for byte with the storage,
and a screenshot of each state is saved under `tests/artifacts/<test name>/`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from testsupport.browser import artifacts_dir, chromium_paths, headless_chromium
from testsupport.dashboard_data import DashboardStorage, build_dashboard_storage, first_of_last_month, storage_env
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

if chromium_paths() is None:
    if os.environ.get('CI'):
        raise RuntimeError(
            'chromium and chromedriver are missing; make test installs them (scripts/ensure-chromium.sh)'
        )
    pytest.skip(
        'chromium and chromedriver not found (Debian packages chromium, chromium-driver; `make test` installs them)',
        allow_module_level=True,
    )

BYS = ('month', 'week', 'day', 'quarter', 'year')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()
    except OSError:
        return 0, {}, b''


def api(base: str, path: str) -> Any:
    status, _, body = get(base + path)
    assert status == 200, body
    return json.loads(body)


@pytest.fixture(scope='module')
def demo_storage(tmp_path_factory: pytest.TempPathFactory) -> DashboardStorage:
    return build_dashboard_storage(tmp_path_factory.mktemp('dashboard') / 'ship')


@pytest.fixture(scope='module')
def server(demo_storage: DashboardStorage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`metrics-utility serve` on a free loopback port, as a user starts it; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp('serve') / 'serve.log'
    env = {**os.environ, **storage_env(demo_storage.path)}
    argv = [sys.executable, '-m', 'metrics_utility.cli', 'serve', '--port', str(port)]
    with log.open('wb') as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}/'
    try:
        wait_until(
            lambda: process.poll() is not None or get(base + 'healthz')[0] == 200,
            60,
            'metrics-utility serve to answer /healthz',
        )
        assert process.poll() is None, log.read_text()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Path, Path]]:
    """(driver, downloads folder, artifacts folder)."""
    downloads = tmp_path / 'downloads'
    downloads.mkdir()
    with headless_chromium(downloads) as driver:
        yield driver, downloads, artifacts_dir(request.node.name)


def attribute(driver: Any, selector: str, name: str) -> str | None:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].get_attribute(name) if found else None


def shown_table(driver: Any) -> list[dict[str, Any]]:
    """The usage table as the page shows it: per row the period, each count's value and its visible text."""
    rows = driver.execute_script(
        """return Array.from(document.querySelectorAll('#usage-table tbody tr[data-period]')).map((tr) => {
             const row = {period: tr.dataset.period, since: tr.cells[1].textContent, until: tr.cells[2].textContent};
             for (const td of tr.querySelectorAll('td[data-field]')) {
               row[td.dataset.field] = [Number(td.dataset.value), td.textContent];
             }
             return row;
           });"""
    )
    return rows


def expected_table(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """What the page must show for an API answer: its periods, newest first, counts with thousands separators."""
    return [
        {
            'period': p['period'],
            'since': p['since'],
            'until': p['until'],
            **{f: [p[f], f'{p[f]:,}'] for f in ('managedNodes', 'jobRuns', 'taskRuns')},
        }
        for p in reversed(usage['periods'])
    ]


def test_the_dashboard_shows_what_the_api_answers_switches_periods_and_downloads_a_report(
    server: str, demo_storage: DashboardStorage, browser: tuple[Any, Path, Path]
):
    from selenium.webdriver.common.by import By

    driver, downloads, artifacts = browser
    print(f'screenshots: {artifacts}')
    driver.get(server)
    wait_until(lambda: attribute(driver, 'body', 'data-state') != 'loading', 60, 'the page to load its data')
    assert attribute(driver, 'body', 'data-state') == 'ready', driver.find_element(By.ID, 'page-error').text
    driver.save_screenshot(str(artifacts / '01-loaded.png'))

    # Billed managed nodes: this month so far against last month, as the API counts them.
    today = demo_storage.today
    last = first_of_last_month(today)
    following = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    billing = api(server, f'api/v1/usage?by=month&since={last}&until={following}')
    figures = {p['period']: p['managedNodes'] for p in billing['periods']}
    this_month, last_month = f'{today:%Y-%m}', demo_storage.last_month
    assert figures[this_month] > 0 and figures[last_month] > 0  # the demo data has both months
    assert driver.find_element(By.ID, 'this-month-label').text == this_month
    assert driver.find_element(By.ID, 'last-month-label').text == last_month
    for element, month in (('billed-this-month', this_month), ('billed-last-month', last_month)):
        assert attribute(driver, f'#{element}', 'data-value') == str(figures[month])
        assert driver.find_element(By.ID, element).text == f'{figures[month]:,}'

    # The trend: every granularity, the table equal to the API's answer for the window the page asked for.
    for step, by in enumerate(BYS, start=2):
        driver.find_element(By.CSS_SELECTOR, f'#usage .switch button[data-by="{by}"]').click()
        wait_until(
            lambda by=by: (
                attribute(driver, '#usage', 'data-by') == by and attribute(driver, '#usage', 'data-state') == 'ready'
            ),
            60,
            f'the usage table by {by}',
        )
        assert attribute(driver, f'#usage .switch button[data-by="{by}"]', 'aria-pressed') == 'true'
        since, until = attribute(driver, '#usage', 'data-since'), attribute(driver, '#usage', 'data-until')
        usage = api(server, f'api/v1/usage?by={by}&since={since}&until={until}')
        assert usage['periods'], f'no periods by {by}'
        assert shown_table(driver) == expected_table(usage)
        assert sum(p['managedNodes'] for p in usage['periods']) > 0
        chart = driver.find_element(By.ID, 'usage-chart')
        wait_until(
            lambda chart=chart: driver.execute_script('return arguments[0].complete', chart),
            60,
            f'the chart by {by} to load',
        )
        assert driver.execute_script('return arguments[0].naturalWidth', chart) == 960
        status, headers, svg = get(chart.get_attribute('src'))
        assert (status, headers['Content-Type']) == (200, 'image/svg+xml')
        assert f'Usage by {by}'.encode() in svg
        driver.save_screenshot(str(artifacts / f'{step:02d}-by-{by}.png'))

    # Collection health: the counts the API gives.
    collection = api(server, 'api/v1/collection')
    assert attribute(driver, '#gap-count', 'data-value') == str(len(collection['gaps']))
    assert attribute(driver, '#problem-count', 'data-value') == str(len(collection['problems']))
    shown_collectors = [
        row.get_attribute('data-collector')
        for row in driver.find_elements(By.CSS_SELECTOR, '#collectors-table tbody tr[data-collector]')
    ]
    assert shown_collectors == [c['name'] for c in collection['collectors']]
    assert driver.find_element(By.ID, 'last-gather').text != 'never'
    facts = [dt.text for dt in driver.find_elements(By.CSS_SELECTOR, '.facts dt')]
    assert facts == ['Collected up to', 'Last upload', 'Gaps', 'Problems']  # the window end, not a gather time

    # Reports: the listed one downloads through the browser with the bytes in the storage.
    reports = api(server, 'api/v1/reports')['reports']
    shown_reports = [
        row.get_attribute('data-report-id')
        for row in driver.find_elements(By.CSS_SELECTOR, '#reports-table tbody tr[data-report-id]')
    ]
    assert shown_reports == [r['id'] for r in reports] == [f'CCSPv2-{last_month}']
    quantity = reports[0]['billedQuantity']
    shown_quantity = driver.find_element(By.CSS_SELECTOR, '#reports-table td[data-field="billedQuantity"]').text
    assert shown_quantity == ('–' if quantity is None else f'{quantity:,}')
    assert quantity in (None, figures[last_month])  # when the catalog knows it, the report bills what usage counts
    link = driver.find_element(By.CSS_SELECTOR, f'#reports-table tr[data-report-id="CCSPv2-{last_month}"] a.download')
    driver.execute_script('arguments[0].scrollIntoView()', link)
    driver.save_screenshot(str(artifacts / '07-reports.png'))
    link.click()
    target = downloads / demo_storage.report.name
    wait_until(
        lambda: target.is_file() and not list(downloads.glob('*.crdownload')),
        60,
        f'the browser to download {target.name}',
    )
    assert target.read_bytes() == demo_storage.report.read_bytes()

    # Nothing the page did broke its own policy or failed to load.
    problems = [e for e in driver.get_log('browser') if e['level'] == 'SEVERE']
    assert problems == []


HOSTILE_PROBLEMS = {
    'img-onerror': ('x.tar.gz', '<img src=x onerror="document.title=\'pwned\'">'),
    'script-tag': ('x.tar.gz', '<script>document.title="pwned"</script>'),
    'entities': ('x.tar.gz', '&lt;b&gt; &amp; &#60;i&#62;'),
    'markup-in-package-name': ('"><svg onload="document.title=1">', 'unreadable'),
    'bidi-and-controls': ('x.tar.gz', 'abc\u202edef\u200b\x07\x1b[31m'),
    '5000-chars': ('x.tar.gz', 'y' * 5000),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('package', 'message'), HOSTILE_PROBLEMS.values(), ids=list(HOSTILE_PROBLEMS))
def test_a_problem_text_from_the_storage_is_shown_as_text(
    server: str, demo_storage: DashboardStorage, browser: tuple[Any, Path, Path], package: str, message: str
):
    """A rollup manifest is storage content anyone with write access to the bucket can shape; what it says reaches
    the page through /api/v1/collection and must stay text."""
    driver, _, artifacts = browser
    yesterday = demo_storage.today - timedelta(days=1)
    manifest_path = demo_storage.path / 'rollups' / f'{yesterday:%Y/%m/%d}' / 'manifest.json'
    wait_until(manifest_path.is_file, 60, f'the rollup of {yesterday}')  # written while the server answered
    manifest = json.loads(manifest_path.read_text())
    manifest['problems'] = [{'name': package, 'message': message}]
    manifest_path.write_text(json.dumps(manifest))
    shown_problems = [p for p in api(server, 'api/v1/collection')['problems'] if p['message'] == message]
    assert shown_problems == [{'day': f'{yesterday}', 'collector': 'unknown', 'package': package, 'message': message}]
    driver.get(server)
    wait_until(lambda: attribute(driver, 'body', 'data-state') != 'loading', 60, 'the page to load its data')
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#problems li')).map(li => li.textContent)"
    )
    assert texts == [f'day: {yesterday}, collector: unknown, package: {package}, message: {message}']
    assert driver.execute_script("return document.querySelectorAll('#problems *:not(li)').length") == 0
    assert driver.title == 'Automation usage'
    assert attribute(driver, '#problem-count', 'data-value') == '1'
    driver.save_screenshot(str(artifacts / 'problems.png'))
