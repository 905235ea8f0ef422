"""A real headless Chromium (Debian's `chromium` + `chromium-driver`, installed by `make test`) driven by Selenium.

Selenium is pointed at /usr/bin/chromedriver and /usr/bin/chromium, so Selenium Manager never runs and nothing is
downloaded. Downloads land in a folder of the test's own (set through the DevTools protocol, which headless Chromium
honours), and screenshots go to the test's artifacts folder.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / 'artifacts'
WINDOW = (1280, 1800)


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) when both are installed, else None."""
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    driver = shutil.which('chromedriver')
    return (browser, driver) if browser and driver else None


def artifacts_dir(test_name: str) -> Path:
    """`tests/artifacts/<test name>/`, emptied first (git-ignored)."""
    folder = ARTIFACTS / re.sub(r'[^A-Za-z0-9_.-]+', '_', test_name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@contextmanager
def headless_chromium(downloads: Path) -> Iterator[object]:
    """A Chrome WebDriver session on headless Chromium whose downloads go to `downloads`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    assert paths is not None, 'chromium and chromedriver are not installed (make test installs them)'
    browser, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        '--headless=new',
        '--disable-gpu',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-dev-shm-usage',
        '--force-device-scale-factor=1',
        '--lang=en-US',
        f'--window-size={WINDOW[0]},{WINDOW[1]}',
    ):
        options.add_argument(argument)
    if hasattr(os, 'geteuid') and os.geteuid() == 0:
        options.add_argument('--no-sandbox')  # Chromium refuses to start its sandbox as root (CI runs as root)
    options.add_experimental_option(
        'prefs', {'download.default_directory': str(downloads), 'download.prompt_for_download': False}
    )
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})  # console errors, CSP violations included
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': str(downloads)})
        yield driver
    finally:
        driver.quit()
