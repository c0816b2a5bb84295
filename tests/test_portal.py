"""The verification portal through a real uvicorn server on a free port: reports as JSON
and pages, refused uploads (not media, too large, malformed), streaming to the data
directory, the owner token. The browser test (slow) is in test_portal_browser.py."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import pytest
import uvicorn

from physics_scenes.cli import main
from physics_scenes.output.provenance.credentials import sign
from physics_scenes.output.provenance.keys import CONFIG_ENV, Identity, make_identity
from physics_scenes.portal.app import PortalConfig, make_app
from physics_scenes.portal.store import TOKEN_FILE, UPLOADS, check_token, init_token

from helpers import SCENES

LIMIT = 300_000


class Served:
    """A portal served by uvicorn in a thread, on a port the OS chose."""

    def __init__(self, config: PortalConfig) -> None:
        self.config = config
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(make_app(config), log_level="error", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the portal did not start"
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def upload(self, path: str, name: str, data: bytes, **headers: str) -> tuple[int, bytes]:
        body, content_type = form({"file": (name, data)})
        status, _, answer = self.request("POST", path, body,
                                         {"Content-Type": content_type, **headers})  # fmt: skip
        return status, answer


def form(fields: dict[str, str | tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body, as a browser sends it."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            head = f'name="{name}"; filename="{value[0]}"\r\nContent-Type: application/octet-stream'
            data = value[1]
        else:
            head, data = f'name="{name}"', value.encode()
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode()
                     + data + b"\r\n")  # fmt: skip
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(PortalConfig(tmp_path_factory.mktemp("portal"), LIMIT))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def signed_png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    _root, chain, key = make_identity("portal test signer")
    path = tmp_path_factory.mktemp("png") / "still.png"
    iio.imwrite(path, np.random.default_rng(1).integers(0, 255, (32, 48, 3), dtype=np.uint8))
    sign(path, Identity(chain, key, "test"), {"content_id": "0123456789ab", "seed": 7}, "9.9")
    return path.read_bytes()


def _leftovers(portal: Served) -> list[Path]:
    folder = portal.config.data / UPLOADS
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_signed_image_gets_its_report_as_json_and_as_a_page(portal: Served, signed_png: bytes):
    status, answer = portal.upload("/api/verify", "still.png", signed_png)
    assert status == 200, answer
    result = json.loads(answer)
    assert result["upload"]["kind"] == "PNG image" and result["upload"]["size"] == len(signed_png)
    report = result["report"]
    assert report["file"] == "still.png"  # the upload's name, not the server's temporary path
    assert report["manifest"]["state"] == "untrusted"  # the test signer is not trusted here
    assert report["manifest"]["signer"] == "portal test signer"
    assert report["manifest"]["claims"]["content_id"] == "0123456789ab"
    assert report["status"] == 0 and result["headline"].startswith("Verified")

    status, page = portal.upload("/verify", "still <b>.png", signed_png)
    html = page.decode()
    assert status == 200 and "Verified: provenance found and consistent" in html
    assert "portal test signer" in html and "0123456789ab" in html
    assert "still &lt;b&gt;.png" in html and "still <b>" not in html  # names are text
    assert _leftovers(portal) == []  # deleted after the report


def test_a_tampered_image_is_flagged(portal: Served, signed_png: bytes) -> None:
    data = bytearray(signed_png)
    data[signed_png.index(b"IDAT") + 30] ^= 1  # one pixel byte, after signing
    status, answer = portal.upload("/api/verify", "edited.png", bytes(data))
    report = json.loads(answer)["report"]
    assert status == 200 and report["status"] == 4
    assert report["manifest"]["state"] == "invalid" and "mismatch" in report["verdict"][0]
    assert "could not be decoded" in report["verdict"][-1]  # the edit broke the PNG too
    status, page = portal.upload("/verify", "edited.png", bytes(data))
    assert "TAMPERED" in page.decode() and 'class="verdict tampered"' in page.decode()


def test_a_raw_body_is_an_upload_too(portal: Served, signed_png: bytes) -> None:
    status, _, answer = portal.request("POST", "/api/verify?name=../../x.png", signed_png,
                                       {"Content-Type": "application/octet-stream"})  # fmt: skip
    assert status == 200 and json.loads(answer)["report"]["file"] == "x.png"


def test_what_is_not_media_is_refused_with_a_clear_error(portal: Served) -> None:
    script = b"#!/bin/sh\necho owned > /tmp/owned\n"
    status, answer = portal.upload("/api/verify", "clip.mp4", script)
    error = json.loads(answer)
    assert status == 415 and "'clip.mp4' is not a video, image or sound file" in error["error"]
    status, page = portal.upload("/verify", "clip.mp4", script)
    assert status == 415 and "Not a media file" in page.decode()
    status, answer = portal.upload("/api/verify", "empty.png", b"")
    assert status == 400 and "empty" in json.loads(answer)["error"]
    fake = b"\x89PNG\r\n\x1a\n" + b"not a picture" * 10
    status, answer = portal.upload("/api/verify", "fake.png", fake)
    assert status == 422 and "could not be decoded" in json.loads(answer)["error"]
    assert _leftovers(portal) == []


def test_a_huge_upload_is_refused_with_the_limit(portal: Served) -> None:
    big = bytes(LIMIT + 1)
    status, answer = portal.upload("/api/verify", "big.mp4", big)  # announced by Content-Length
    error = json.loads(answer)
    assert status == 413 and error["limit_bytes"] == LIMIT and "300,000 bytes" in error["error"]
    status, page = portal.upload("/verify", "big.mp4", big)
    assert status == 413 and "Upload too large" in page.decode()

    # a chunked body announces no size: it is counted as it streams and cut at the limit
    connection = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=30)
    chunks = (bytes(50_000) for _ in range(20))  # 1 MB
    connection.request("POST", "/api/verify", chunks, encode_chunked=True,
                       headers={"Transfer-Encoding": "chunked"})  # fmt: skip
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["limit_bytes"] == LIMIT
    connection.close()
    assert _leftovers(portal) == []


def test_an_upload_streams_into_the_data_directory(portal: Served, signed_png: bytes) -> None:
    """Half a body sent: it is already in a file of the data directory (mode 0600)."""
    body, content_type = form({"file": ("still.png", signed_png)})
    connection = _half_sent(portal, body, content_type)
    [part] = _leftovers(portal)
    assert part.suffix == ".part" and stat.S_IMODE(part.stat().st_mode) == 0o600
    connection.send(body[len(body) // 2 :])
    assert connection.getresponse().status == 200
    connection.close()
    assert _leftovers(portal) == []


def _half_sent(portal: Served, body: bytes, content_type: str) -> http.client.HTTPConnection:
    """A connection that has sent half of ``body``, once that half is on the disk."""
    connection = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=30)
    connection.putrequest("POST", "/api/verify")
    connection.putheader("Content-Type", content_type)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders()
    connection.send(body[: len(body) // 2])
    deadline = time.monotonic() + 10
    while not (parts := _leftovers(portal)) or parts[0].stat().st_size < len(body) // 2 - 1000:
        assert time.monotonic() < deadline, "the first half never reached the disk"
        time.sleep(0.01)
    return connection


def test_uploads_at_once_are_bounded_and_a_dropped_one_leaves_nothing(
    tmp_path: Path, signed_png: bytes
) -> None:
    (tmp_path / UPLOADS).mkdir()
    (tmp_path / UPLOADS / "killed-mid-upload.part").write_bytes(b"x")  # a previous crash
    portal = Served(PortalConfig(tmp_path, LIMIT, uploads=1))
    try:
        assert _leftovers(portal) == []  # cleared when the app was made
        body, content_type = form({"file": ("still.png", signed_png)})
        first = _half_sent(portal, body, content_type)
        status, answer = portal.upload("/api/verify", "second.png", signed_png)
        assert status == 503 and "busy" in json.loads(answer)["error"]
        first.close()  # the client goes away mid-upload
        deadline = time.monotonic() + 10
        while _leftovers(portal):
            assert time.monotonic() < deadline, "a dropped upload's file stayed"
            time.sleep(0.01)
        status, _ = portal.upload("/api/verify", "third.png", signed_png)
        assert status == 200  # the slot is free again
    finally:
        portal.stop()


def test_portal_init_prints_a_token_once_and_keeps_only_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["portal", "--init", "--data", str(tmp_path)]) == 0
    token = capsys.readouterr().out.splitlines()[1]
    stored = (tmp_path / TOKEN_FILE).read_text()
    assert token not in stored and len(stored.strip()) == 64
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600
    assert check_token(tmp_path, token) and not check_token(tmp_path, token[:-1])
    assert main(["portal", "--init", "--data", str(tmp_path)]) == 0  # a new one replaces it
    assert not check_token(tmp_path, token)


def test_owner_pages_need_the_token(portal: Served) -> None:
    token = init_token(portal.config.data)
    status, _, answer = portal.request("GET", "/api/owner")
    assert status == 401 and "owner token required" in json.loads(answer)["error"]
    status, _, _ = portal.request("GET", "/api/owner", headers={"Authorization": "Bearer nope"})
    assert status == 401
    status, _, answer = portal.request("GET", "/api/owner",
                                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert status == 200 and set(json.loads(answer)) >= {"assets", "names"}

    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, page = portal.request("POST", "/owner/login", b"token=wrong", urlencoded)
    assert status == 403 and "not this portal" in page.decode()
    status, headers, _ = portal.request("POST", "/owner/login", f"token={token}".encode(),
                                        urlencoded)  # fmt: skip
    assert status == 303 and "httponly" in headers["set-cookie"].lower()
    assert "samesite=strict" in headers["set-cookie"].lower()
    cookie = headers["set-cookie"].split(";")[0]
    assert token not in cookie  # the cookie is a session, not the token
    _, _, page = portal.request("GET", "/owner", headers={"Cookie": cookie})
    assert 'id="logout"' in page.decode()
    _, _, page = portal.request("GET", "/owner", headers={"Cookie": "ps_owner=forged"})
    assert 'id="token"' in page.decode()  # the login form again
    init_token(portal.config.data)  # a new token: the session made with the old one ends
    _, _, page = portal.request("GET", "/owner", headers={"Cookie": cookie})
    assert 'id="token"' in page.decode()


def _picture(path: Path, size: tuple[int, int] = (96, 64)) -> Path:
    """A smooth picture with structure (what perceptual hashes are made for)."""
    y, x = np.mgrid[0 : size[1], 0 : size[0]] / max(size)
    rgb = np.stack([np.sin(6 * x) * 0.5 + 0.5, np.cos(4 * y + x) * 0.5 + 0.5, x * y], -1)
    iio.imwrite(path, (rgb * 255).astype(np.uint8))
    return path


def test_an_owner_blocks_an_asset_and_a_name_and_sees_the_renders_near_them(
    portal: Served, tmp_path: Path
) -> None:
    from physics_scenes.rights.fingerprint import image_print
    from physics_scenes.rights.registry import Registry, UsedAsset

    token = init_token(portal.config.data)
    bearer = {"Authorization": f"Bearer {token}"}
    logo = _picture(tmp_path / "logo.png").read_bytes()
    status, _ = portal.upload("/api/owner/assets", "logo.png", logo)
    assert status == 401  # no token, nothing added
    body, content_type = form({"owner": "Acme Corp", "reason": "trademark",
                               "file": ("../../logo.png", logo)})  # fmt: skip
    status, _, answer = portal.request("POST", "/api/owner/assets", body,
                                       {"Content-Type": content_type, **bearer})  # fmt: skip
    entry = json.loads(answer)
    assert status == 201, entry
    assert entry["kind"] == "image" and entry["label"] == "logo.png"
    assert entry["owner"] == "Acme Corp" and entry["sha256"] == hashlib.sha256(logo).hexdigest()

    # a render here that used a resized copy of it (the render log the pipeline writes)
    copy = _picture(tmp_path / "copy.png", (144, 96))
    with Registry(portal.config.data / "registry.sqlite3") as registry:
        used = UsedAsset("look.background.image", "copy.png", image_print(copy))
        registry.log_render("c0ffee123456", "ads.yaml", [used])

    status, _, answer = portal.request("POST", "/api/owner/names",
                                       json.dumps({"name": "Acme Rockets", "owner": "Acme Corp",
                                                   "reason": "mark"}).encode(),
                                       {"Content-Type": "application/json", **bearer})  # fmt: skip
    assert status == 201 and json.loads(answer)["kind"] == "name"
    status, _, answer = portal.request("POST", "/api/owner/names",
                                       json.dumps({"name": 5, "owner": "Acme Corp"}).encode(),
                                       {"Content-Type": "application/json", **bearer})  # fmt: skip
    assert status == 400 and "'name' must be text" in json.loads(answer)["error"]

    _, _, answer = portal.request("GET", "/api/owner", headers=bearer)
    overview = json.loads(answer)
    [asset] = overview["assets"]
    [use] = asset["uses_near"]
    assert use["content_id"] == "c0ffee123456" and use["ref"] == "copy.png"
    assert use["rule"].startswith("near copy")
    assert [n["label"] for n in overview["names"]] == ["Acme Rockets"]

    garbage = b"\x89PNG\r\n\x1a\n" + bytes(200)  # looks like a PNG, is not one
    body, content_type = form({"owner": "Acme Corp", "reason": "x", "file": ("bad.png", garbage)})
    status, _, answer = portal.request("POST", "/api/owner/assets", body,
                                       {"Content-Type": content_type, **bearer})  # fmt: skip
    assert status == 422 and "cannot block this file: 'bad.png'" in json.loads(answer)["error"]
    assert _leftovers(portal) == []
    _, _, answer = portal.request("GET", "/api/owner", headers=bearer)
    assert len(json.loads(answer)["assets"]) == 1  # nothing half-added

    status, _, _ = portal.request("DELETE", f"/api/owner/entries/{entry['id']}")
    assert status == 401
    status, _, answer = portal.request("DELETE", f"/api/owner/entries/{entry['id']}",
                                       headers=bearer)  # fmt: skip
    assert status == 200 and json.loads(answer)["id"] == entry["id"]
    status, _, answer = portal.request("DELETE", f"/api/owner/entries/{entry['id']}",
                                       headers=bearer)  # fmt: skip
    assert status == 404 and "no blocklist entry" in json.loads(answer)["error"]
    _, _, answer = portal.request("GET", "/api/owner", headers=bearer)
    assert json.loads(answer)["assets"] == []


# --- in a real browser: Debian's Chromium driven by Selenium --------------------------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1100,1400"):  # fmt: skip
        options.add_argument(argument)
    # the driver's path given: Selenium Manager is skipped, nothing is downloaded
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def rendered_clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:
    """A tiny self-cameo clip (a face worn with its consent, before a poster) signed by a
    fresh local identity (trusted while the test runs), logged in the registry of a
    portal's data folder: (clip, its content id, the data folder)."""
    folder = tmp_path_factory.mktemp("clip")
    data = folder / "data"
    for name in ("self_cameo_face.png", "self_cameo.consent.json"):
        (folder / name).write_bytes((SCENES / name).read_bytes())
    scene = (SCENES / "self_cameo.yaml").read_text() + "look: {background: {image: poster.png}}\n"
    (folder / "self_cameo.yaml").write_text(scene)
    _picture(folder / "poster.png", (256, 144))
    previous = os.environ[CONFIG_ENV]
    os.environ[CONFIG_ENV] = str(folder / "cfg")
    try:
        assert main(["keys", "init"]) == 0
        assert main(["render", str(folder / "self_cameo.yaml"), "-o", str(folder / "c.mp4"),
                     "--size", "256x144", "--duration", "1", "--fps", "30", "-q",
                     "--registry", str(data / "registry.sqlite3")]) == 0  # fmt: skip
        metadata = json.loads((folder / "c.metadata.json").read_text())
        yield folder / "c.mp4", metadata["watermark"]["content_id"], data
    finally:
        os.environ[CONFIG_ENV] = previous


@pytest.mark.slow
def test_in_a_browser_a_clip_verifies_a_tampered_copy_is_flagged_and_an_owner_blocks_an_asset(
    browser: Any, rendered_clip: tuple[Path, str, Path], tmp_path: Path
) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    clip, content_id, data = rendered_clip
    tampered = tmp_path / "tampered.mp4"
    edited = bytearray(clip.read_bytes())
    middle = len(edited) // 2
    edited[middle : middle + 2] = bytes(b ^ 0xFF for b in edited[middle : middle + 2])
    tampered.write_bytes(bytes(edited))
    served = Served(PortalConfig(data, LIMIT))
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS", tmp_path))
    try:
        results = {}
        for name, path in (("verified", clip), ("tampered", tampered)):
            browser.get(served.url)
            browser.find_element(By.ID, "file").send_keys(str(path))
            browser.find_element(By.ID, "check").click()
            results[name] = browser.find_element(By.ID, "verdict").text
            browser.get_screenshot_as_file(str(shots / f"portal_{name}.png"))
            if name == "verified":
                assert browser.find_element(By.ID, "manifest-state").text == "trusted"
                assert browser.find_element(By.ID, "payload").text == content_id
                record = json.loads((SCENES / "self_cameo.consent.json").read_text())["consent"]
                consent = browser.find_element(By.ID, "consent").text
                assert record["id"] in consent and "face" in consent
            else:
                assert browser.find_element(By.ID, "manifest-state").text == "invalid"
        assert results["verified"] == "Verified: provenance found and consistent"
        assert results["tampered"].startswith("TAMPERED")

        token = init_token(served.config.data)
        browser.get(served.url + "owner")
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.ID, "login").click()
        # the owner's own copy of the poster behind the clip: larger, and saved as JPEG
        mine = Image.open(_picture(tmp_path / "poster.png", (256, 144))).resize((384, 216))
        mine.save(tmp_path / "mine.jpg", quality=80)
        browser.find_element(By.ID, "asset-file").send_keys(str(tmp_path / "mine.jpg"))
        browser.find_element(By.ID, "asset-owner").send_keys("Poster Studio")
        browser.find_element(By.ID, "asset-reason").send_keys("our artwork")
        browser.find_element(By.ID, "add-asset").click()
        flash = browser.find_element(By.ID, "flash").text
        browser.get_screenshot_as_file(str(shots / "portal_owner.png"))
        assert flash.startswith("Blocked image 'mine.jpg'")
        assets = browser.find_element(By.ID, "assets").text
        assert "Poster Studio: our artwork" in assets
        # the render logged its files: the owner sees the clip that used a near copy
        assert f"clip {content_id}" in assets and "near copy" in assets
        assert _leftovers(served) == []
    finally:
        served.stop()


def test_the_command_refuses_a_bad_limit_and_a_port_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["portal", "--data", str(tmp_path), "--max-upload", "0"]) == 2
    assert "--max-upload must be more than 0" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        assert main(["portal", "--data", str(tmp_path), "--port", port]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
