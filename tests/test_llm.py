"""`new --llm`: a local server that speaks the OpenAI chat protocol plays the model.

The server answers with a broken scene first and a corrected one once the located
errors come back, so the repair loop, the request format and the CLI are all exercised
over real HTTP (on 127.0.0.1, nothing leaves the machine)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.scene.compose.llm import author
from physics_scenes.scene.loader import load_scene

BROKEN = {"bodies": [{"kind": "ball", "name": "b", "radius": -1, "position": [0, 2]}]}
FIXED = {"bodies": [{"kind": "ball", "name": "b", "radius": 0.3, "position": [0, 2]}]}


class Model(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions: broken until the last message names the error."""

    requests: ClassVar[list[dict[str, Any]]] = []
    stubborn: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        told = "bodies[0].radius" in body["messages"][-1]["content"]
        scene = FIXED if told and not type(self).stubborn else BROKEN
        answer = {"choices": [{"message": {"role": "assistant", "content": json.dumps(scene)}}]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Model.requests, Model.stubborn = [], False
    httpd = HTTPServer(("127.0.0.1", 0), Model)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_errors_go_back_until_the_scene_is_valid(server: str) -> None:
    result = author(server, "a ball", {"type": "object"})
    assert result.rounds == 2 and result.scene.bodies[0].radius == 0.3
    first, second = (r["body"] for r in Model.requests)
    assert Model.requests[0]["path"] == "/v1/chat/completions"
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert first["messages"][-1] == {"role": "user", "content": "a ball"}
    repair = second["messages"][-1]["content"]
    assert "bodies[0].radius" in repair and "greater than 0" in repair  # located, explained
    assert second["messages"][-2]["role"] == "assistant"


def test_a_model_that_never_fixes_it_gets_a_bounded_number_of_tries(server: str) -> None:
    Model.stubborn = True
    with pytest.raises(SceneError) as info:
        author(server, "a ball", {}, repairs=2)
    assert len(Model.requests) == 3
    assert info.value.issues[0].path == "bodies[0].radius"


def test_the_cli_writes_the_models_scene(server: str, tmp_path: Path) -> None:
    target = tmp_path / "scene.yaml"
    assert main(["new", "a ball", "--llm", server, "-o", str(target)]) == 0
    scene = load_scene(target)
    assert scene.bodies[0].radius == 0.3
    assert scene.authored_by is not None  # for the content credentials
    assert (scene.authored_by.model, scene.authored_by.endpoint) == ("local", server)
    assert scene.authored_by.prompt_sha256 == hashlib.sha256(b"a ball").hexdigest()
    schema = Model.requests[0]["body"]["response_format"]["json_schema"]["schema"]
    assert schema["title"] == "physics_scenes scene"  # the committed schema is the contract


def test_an_unreachable_endpoint_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["new", "a ball", "--llm", "http://127.0.0.1:9"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("physics-scenes: the model endpoint failed:") and "Traceback" not in err
