"""A language model as author: an OpenAI-compatible chat endpoint (llama.cpp's server,
Ollama, vLLM …) asked for a scene as JSON constrained by the scene files' JSON Schema;
the loader checks the answer, and its located errors go back to the model for a bounded
number of repairs. The JSON Schema stays the contract; nothing here trusts the model.

Only the standard library talks to the endpoint (``urllib``), and only when asked.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import Issue, SceneError
from ..loader import parse_scene
from ..model import Authorship, Scene

SYSTEM = (
    "You write scene files for physics_scenes, a 2D physics video tool (SI units, y up, "
    "angles in degrees). Reply with one JSON object and nothing else; it must be valid "
    "against this JSON Schema:\n"
)
Post = Callable[[str, dict[str, Any], float], dict[str, Any]]


class EndpointError(Exception):
    """The endpoint could not be reached or did not answer as the protocol says."""


@dataclass(frozen=True)
class Authored:
    text: str
    scene: Scene
    rounds: int
    """Requests made: 1 when the first answer was valid."""


def post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST ``body`` as JSON to ``url``/v1/chat/completions and return the JSON answer."""
    endpoint = url.rstrip("/")
    if not endpoint.endswith("/chat/completions"):
        endpoint += "/v1/chat/completions" if not endpoint.endswith("/v1") else "/chat/completions"
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise EndpointError(f"{endpoint}: {error}") from None


def author(
    url: str,
    prompt: str,
    schema: dict[str, Any],
    *,
    model: str = "local",
    repairs: int = 3,
    timeout: float = 120.0,
    post: Post = post_json,
) -> Authored:
    """Ask the endpoint for a scene; send the loader's errors back up to ``repairs`` times.

    Raises ``SceneError`` (the last answer's located errors) when no answer was valid, and
    ``EndpointError`` when the endpoint fails. Temperature 0 and a fixed seed ask the
    server for the same answer every time (whether it keeps that promise is its own).
    """
    messages: list[dict[str, str]] = [
        {"role": "system", "content": SYSTEM + json.dumps(schema)},
        {"role": "user", "content": prompt},
    ]
    last: SceneError | None = None
    for round_ in range(1, repairs + 2):
        body = {
            "model": model,
            "messages": messages,
            "temperature": 0,
            "seed": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "scene", "schema": schema, "strict": False},
            },
        }
        answer = post(url, body, timeout)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise EndpointError(f"{url}: the answer has no choices[0].message.content") from None
        if not isinstance(content, str):
            raise EndpointError(f"{url}: the answer's content is not text")
        try:
            scene = parse_scene(content, "<model answer>")
        except SceneError as error:
            last = error
            messages += [
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": "That scene has these errors (line:column of your JSON, field "
                    "path, what is expected). Reply with the whole corrected JSON object:\n"
                    + str(error),
                },
            ]
            continue
        stamp = Authorship(model=model, endpoint=url,
                           prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest())  # fmt: skip
        try:  # the file says who wrote it (whatever the model claimed), for the credentials
            data = json.loads(content)
            data["authored_by"] = stamp.model_dump()
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        except ValueError:  # YAML is accepted too: kept as written, the stamp added
            if scene.authored_by is not None:
                issue = Issue("<model answer>", 1, 1, "authored_by", "set by physics_scenes only")
                raise SceneError([issue]) from None
            text = content.rstrip("\n") + "\nauthored_by: " + json.dumps(stamp.model_dump()) + "\n"
        return Authored(text, scene.model_copy(update={"authored_by": stamp}), round_)
    assert last is not None
    raise last
