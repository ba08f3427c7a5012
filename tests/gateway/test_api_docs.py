"""The API's pages work offline: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load their scripts
from the gateway itself, and headless Chromium renders every operation of the OpenAPI document."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.harness.gateway import Gateway, running_gateway, serve_live

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, bureau_url: str
) -> Iterator[tuple[Gateway, str]]:
    with (
        running_gateway(tmp_path_factory.mktemp("docs"), bureau_url) as gateway,
        serve_live(gateway.app) as url,
    ):
        yield gateway, url


def _operations(url: str) -> list[tuple[str, str]]:
    spec = httpx.get(f"{url}/openapi.json", timeout=30).json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def _rendered(url: str) -> str:
    """The page's DOM after its scripts ran, as headless Chromium has it."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"),
            # Virtual time runs the page's scripts to completion, however busy the machine.
            "--virtual-time-budget=30000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_the_pages_load_their_assets_from_the_gateway(live: tuple[Gateway, str], page: str) -> None:
    _gateway, url = live
    html = httpx.get(f"{url}/{page}", timeout=30).text
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert scripts, html
    for asset in scripts:
        assert asset.startswith("/docs-assets/"), asset  # nothing from a CDN
        assert httpx.get(f"{url}{asset}", timeout=30).status_code == 200


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs Debian's)")
def test_swagger_ui_renders_every_operation(live: tuple[Gateway, str]) -> None:
    _gateway, url = live
    dom = _rendered(f"{url}/docs")
    rendered = re.findall(r'class="opblock-summary-method">(\w+)<', dom)
    assert len(rendered) == len(_operations(url)), rendered
    for _method, path in _operations(url):
        assert f'data-path="{path}"' in dom, path


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs Debian's)")
def test_redoc_renders_every_operation(live: tuple[Gateway, str]) -> None:
    _gateway, url = live
    dom = _rendered(f"{url}/redoc")
    for _method, path in _operations(url):
        assert path in dom, path
    assert "ConsentLedger gateway" in dom
