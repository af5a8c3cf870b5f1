"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, for tests.

The request's `model` names a scenario: a reply text or a function of the request that makes
one (sent whole, or as server-sent events a word at a time, `pace` seconds apart, when
`stream` is true), or a behaviour: `slow` (sleeps past the client's timeout), `error500`,
`malformed` (a body that is not JSON) and `malformed-stream` (an event that is not JSON).
Every request body is kept in `requests` so tests can look at the prompt.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A sentence that no passage of the corpus supports.
CLAIM = "Quantum teleportation budgets doubled in 2019 [1]."


def quoting(req: dict) -> str:
    """A grounded answer to the request: a dozen words of each of the first two passages,
    each cited, with `CLAIM` between them, as a model that strays once would write it."""
    user = req["messages"][-1]["content"]
    blocks = user.split("Passages:\n\n", 1)[1].rsplit("\n\nQuestion:", 1)[0].split("\n\n[")
    sentences = []
    for block in blocks[:2]:
        head, _, text = block.partition("\n")
        n = re.match(r"\[?(\d+)\]", head).group(1)
        words = re.findall(r"[^\W\d_]{3,}", text)[:12]
        sentences.append(" ".join(words).capitalize() + f" [{n}].")
    return " ".join(sentences[:1] + [CLAIM] + sentences[1:])


class FakeOpenAI:
    def __init__(self, replies: dict[str, str | Callable[[dict], str]], delay: float = 3.0,
                 pace: float = 0.0):  # fmt: skip
        self.replies = replies
        self.delay = delay  # how long `slow` sleeps
        self.pace = pace  # seconds between two streamed events
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                try:
                    self._reply()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout scenario)

            def _reply(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                fake.requests.append(req)
                model, stream = req.get("model", ""), bool(req.get("stream"))
                if model == "slow":
                    time.sleep(fake.delay)
                    model = "good"
                if model == "error500":
                    self._send(500, b'{"error": {"message": "internal error", "type": "server"}}')
                    return
                if model == "malformed":
                    self._send(200, b'{"id": "x", "choices": [ {"message": ')
                    return
                if model == "malformed-stream":
                    self._events(['{"id": "x", "choices": [{"delta": {"content": "Hal'], done=False)
                    return
                text = fake.replies.get(model, "")
                text = text(req) if callable(text) else text
                if stream:
                    words = text.split(" ")
                    pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                    self._events(
                        [json.dumps(_chunk(model, p)) for p in pieces]
                        + [json.dumps(_chunk(model, None, "stop"))]
                    )
                else:
                    self._send(200, json.dumps(_completion(model, text)).encode())

            def _events(self, datas: list[str], done: bool = True) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for d in datas:
                    self.wfile.write(f"data: {d}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(fake.pace)
                if done:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _completion(model: str, text: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, content: str | None, finish: str | None = None) -> dict:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
